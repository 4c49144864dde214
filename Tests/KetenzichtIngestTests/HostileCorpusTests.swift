import Foundation
import KetenzichtCore
import KetenzichtIngest
import KetenzichtStore
import Testing

/// The hostile input corpus (`Hostile/`, each file described in its README): every file goes
/// through the whole ingest (format detection, decoder, model, store) exactly as
/// `ketenzicht ingest` runs it, and must give exactly the errors listed here, keep exactly the
/// valid events around them, and quarantine every piece of input it refused.
@Suite struct HostileCorpusTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let corpus = here.appendingPathComponent("Hostile").path
    static let fixtures = here.appendingPathComponent("IStandaarden").path
    static let received = try! Timestamp(rfc3339: "2026-11-25T12:00:00Z")

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        /// Every error, as `ketenzicht ingest` prints it, with the corpus directory left out of the path.
        var errors: [String]
        /// The ids of the events from this file that must be in the store afterwards, in order.
        var kept: [String]
        var duplicates = 0
        /// iStandaarden fixtures ingested before (the first) and after (the rest) the file: their
        /// events must all be kept too, as if the file had not been there.
        var around: [String] = []

        var testDescription: String { file }
    }

    static let unknownTypes = EventType.allCases.map(\.rawValue).joined(separator: ", ")

    static let cases: [Case] = [
        // MARK: CloudEvents
        Case(file: "json-truncated-line.ndjson", errors: [
            "json-truncated-line.ndjson:3: event r-1-created (urn:hostile): malformed JSON (column 76): unexpected end of input inside a string (truncated?)",
        ], kept: ["p-1", "p-2", "p-3"]),
        Case(file: "json-truncated-batch.json", errors: [
            "json-truncated-batch.json:4: event r-1-created (urn:hostile): malformed JSON (column 91): unexpected end of input inside a string (truncated?); the rest of the batch array cannot be read",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-invalid-utf8.ndjson", errors: [
            "json-invalid-utf8.ndjson:2: event p-bad (urn:hostile): malformed JSON (column 173): invalid UTF-8 (byte 0xC3)",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-utf16le-bom.json", errors: [
            "json-utf16le-bom.json: UTF-16 input (with a byte order mark); convert it to UTF-8",
        ], kept: []),
        Case(file: "json-utf16le-no-bom.ndjson", errors: [
            "json-utf16le-no-bom.ndjson: UTF-16 or UTF-32 input (NUL bytes at the start, no byte order mark); convert it to UTF-8",
        ], kept: []),
        Case(file: "json-nul-bytes.ndjson", errors: [
            "json-nul-bytes.ndjson:2: event p-nul (urn:hostile): malformed JSON (column 171): control character U+0000 inside a string must be escaped",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-unknown-type.ndjson", errors: [
            "json-unknown-type.ndjson:2: event x-1 (urn:hostile): type: unknown event type \"nl.ketenzicht.referral.teleported\"; expected one of \(unknownTypes)",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-missing-fields.ndjson", errors: [
            "json-missing-fields.ndjson:3: event m-1 (urn:hostile): data.referral: missing",
            "json-missing-fields.ndjson:4: event m-2 (urn:hostile): time: missing",
            "json-missing-fields.ndjson:5: id: missing",
            "json-missing-fields.ndjson:6: event m-4 (urn:hostile): data: missing",
        ], kept: ["p-1", "p-2", "r-1-created"]),
        Case(file: "json-mistyped-fields.ndjson", errors: [
            "json-mistyped-fields.ndjson:2: event t-1 (urn:hostile): data.capacityPerWeek: expected a number, got a string",
            "json-mistyped-fields.ndjson:3: event t-2 (urn:hostile): data.dependsOn: expected an array of strings, got a string",
            "json-mistyped-fields.ndjson:4: event t-3 (urn:hostile): time: expected a string, got a number",
            "json-mistyped-fields.ndjson:5: event t-4 (urn:hostile): data.referral: expected a string, got an array",
            "json-mistyped-fields.ndjson:6: event t-5 (urn:hostile): data.regieEligible: expected true or false, got a string",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-impossible-date.ndjson", errors: [
            "json-impossible-date.ndjson:2: event d-1 (urn:hostile): time: impossible date 2027-06-31: that month has 30 days (got \"2027-06-31T10:00:00+02:00\")",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-out-of-range-dates.ndjson", errors: [
            "json-out-of-range-dates.ndjson:2: event d-1 (urn:hostile): time: RFC 3339 date-time with the month out of range (got \"2026-13-01T10:00:00Z\")",
            "json-out-of-range-dates.ndjson:3: event d-2 (urn:hostile): time: impossible date 2026-02-29: that month has 28 days (got \"2026-02-29T10:00:00Z\")",
            "json-out-of-range-dates.ndjson:4: event d-3 (urn:hostile): time: RFC 3339 date-time with the hour out of range (got \"2026-03-01T24:00:01Z\")",
            "json-out-of-range-dates.ndjson:5: event d-4 (urn:hostile): time: RFC 3339 date-time with the offset out of range (got \"2026-03-01T10:00:00+25:00\")",
            "json-out-of-range-dates.ndjson:6: event d-5 (urn:hostile): time: not an RFC 3339 date-time (expected like 2026-03-02T10:00:00+01:00) (got \"99999-03-01T10:00:00Z\")",
            "json-out-of-range-dates.ndjson:7: event d-6 (urn:hostile): time: not an RFC 3339 date-time (expected like 2026-03-02T10:00:00+01:00) (got \"2026-03-01\")",
            "json-out-of-range-dates.ndjson:8: event d-7 (urn:hostile): time: RFC 3339 date-time with the year out of range (got \"0000-01-01T00:00:00Z\")",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-status-before-creation.ndjson", errors: [
            "json-status-before-creation.ndjson:4: event n-1 (urn:hostile): time: started at 2026-02-20T09:00:00Z is before the referral's creation at 2026-03-02T09:00:00Z",
        ], kept: ["p-1", "p-2", "r-1-created", "r-1-accepted"]),
        Case(file: "json-self-referral.ndjson", errors: [
            "json-self-referral.ndjson:2: event s-1 (urn:hostile): data.to: self-referral: from and to are both km-noord",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-dependson-cycle.ndjson", errors: [
            "json-dependson-cycle.ndjson:5: event c-c (urn:hostile): data.dependsOn: dependsOn cycle: r-c → r-b → r-a → r-c",
            "json-dependson-cycle.ndjson:6: event c-d (urn:hostile): data.dependsOn: referral r-d depends on itself",
        ], kept: ["p-1", "p-2", "c-a", "c-b", "r-1-created"]),
        Case(file: "json-conflicting-duplicate.ndjson", errors: [
            "json-conflicting-duplicate.ndjson:5: event r-1-created (urn:hostile): id: conflict: event r-1-created (urn:hostile) was already ingested with different content",
        ], kept: ["p-1", "p-2", "r-1-created", "r-1-accepted"], duplicates: 1),
        Case(file: "json-bsn-elfproef.ndjson", errors: [
            "json-bsn-elfproef.ndjson:3: event b-1 (urn:hostile): data.bsn: BSN fails the elfproef (11-check)",
            "json-bsn-elfproef.ndjson:4: event b-2 (urn:hostile): data.bsn: a BSN is 9 digits (got 8 characters)",
            "json-bsn-elfproef.ndjson:5: event b-3 (urn:hostile): data.bsn: BSN fails the elfproef (11-check)",
            "json-bsn-elfproef.ndjson:6: event b-4 (urn:hostile): data.case: looks like a BSN (9 digits); send it as bsn so that it is pseudonymised",
            "json-bsn-elfproef.ndjson:7: event b-5 (urn:hostile): data.bsn: expected a string, got a number",
            "json-bsn-elfproef.ndjson:8: event b-6 (urn:hostile): data.case: looks like a BSN (9 digits); send it as bsn so that it is pseudonymised",
        ], kept: ["p-1", "p-2", "b-7"]),
        Case(file: "json-after-rejected.ndjson", errors: [
            "json-after-rejected.ndjson:5: event j-1 (urn:hostile): time: started at 2026-03-10T09:00:00Z comes after the referral was rejected at 2026-03-04T09:00:00Z",
            "json-after-rejected.ndjson:8: event j-2 (urn:hostile): time: accepted at 2026-03-04T09:00:00Z comes after the referral was withdrawn at 2026-03-03T09:00:00Z",
            "json-after-rejected.ndjson:9: event j-3 (urn:hostile): type: referral r-1 already ended: rejected at 2026-03-04T09:00:00Z",
        ], kept: ["p-1", "p-2", "r-1-created", "r-1-rejected", "r-2-created", "r-2-withdrawn", "p-3"]),
        Case(file: "json-completed-before-started.ndjson", errors: [
            "json-completed-before-started.ndjson:6: event k-1 (urn:hostile): time: completed at 2026-04-10T08:00:00Z is before the referral started at 2026-04-20T08:00:00Z",
            "json-completed-before-started.ndjson:7: event k-2 (urn:hostile): type: referral r-1 was already accepted at 2026-03-05T09:00:00Z",
        ], kept: ["p-1", "p-2", "r-1-created", "r-1-accepted", "r-1-started", "r-1-completed"]),
        Case(file: "json-huge-numbers.ndjson", errors: [
            "json-huge-numbers.ndjson:2: event h-1 (urn:hostile): data.capacityPerWeek: number out of range",
            "json-huge-numbers.ndjson:3: event h-2 (urn:hostile): data.normDays: must be a number of days > 0, got -1e+308",
            "json-huge-numbers.ndjson:4: event h-3 (urn:hostile): data.zrm.financien: ZRM score must be a whole number 1 to 5, got 1e+20",
            "json-huge-numbers.ndjson:5: event h-4 (urn:hostile): data.capacityPerWeek: number out of range",
        ], kept: ["p-1", "h-5", "h-6", "p-2"]),
        Case(file: "json-deeply-escaped.ndjson", errors: [
            "json-deeply-escaped.ndjson:4: event e-3 (urn:hostile): malformed JSON (column 171): lone surrogate \\uD800: a high surrogate must be followed by a \\u escape of a low surrogate",
            "json-deeply-escaped.ndjson:5: event e-4 (urn:hostile): data.party: contains control characters",
            "json-deeply-escaped.ndjson:6: event e-5 (urn:hostile): malformed JSON (column 167): invalid escape \\x inside a string",
        ], kept: ["p-1", "e-esc", "e-2", "p-2"]),
        Case(file: "json-nesting-65.ndjson", errors: [
            "json-nesting-65.ndjson:2: event n-1 (urn:hostile): malformed JSON (column 452): nested deeper than 64 levels",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-batch-bad-elements.json", errors: [
            "json-batch-bad-elements.json:3: a batch array element must be an event object, got a number",
            "json-batch-bad-elements.json:4: event bb-1 (urn:hostile): time: impossible date 2027-06-31: that month has 30 days (got \"2027-06-31T10:00:00+02:00\")",
            "json-batch-bad-elements.json:5: malformed JSON (column 44): invalid escape \\q inside a string",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-duplicate-keys.ndjson", errors: [
            "json-duplicate-keys.ndjson:2: event k-1 (urn:hostile): malformed JSON (column 155): duplicate key \"party\" in an object",
            "json-duplicate-keys.ndjson:3: event k-3 (urn:hostile): malformed JSON (column 33): duplicate key \"id\" in an object",
        ], kept: ["p-1", "p-2"]),
        Case(file: "json-trailing-garbage.ndjson", errors: [
            "json-trailing-garbage.ndjson:3: event g-1 (urn:hostile): malformed JSON (column 205): unexpected '{' after the event's closing '}'",
            "json-trailing-garbage.ndjson:4: malformed JSON (column 1): expected a JSON object (one event per line), found '['",
            "json-trailing-garbage.ndjson:5: malformed JSON (column 1): expected a JSON object (one event per line), found 'n'",
        ], kept: ["p-1", "p-2", "r-1-created"]),
        Case(file: "json-wrong-envelope.ndjson", errors: [
            "json-wrong-envelope.ndjson:2: event w-1 (urn:hostile): specversion: must be \"1.0\", got \"0.3\"",
            "json-wrong-envelope.ndjson:3: event w-2 (urn:hostile): datacontenttype: must be a JSON media type (application/json, text/json or a type ending in +json), got \"application/xml\"",
            "json-wrong-envelope.ndjson:4: event w-3 (urn:hostile): data_base64: binary data is not supported; send the event data as a JSON object in data",
            "json-wrong-envelope.ndjson:5: event w-4 (urn:hostile): data: expected an object, got a string",
            "json-wrong-envelope.ndjson:6: id: empty",
        ], kept: ["p-1", "p-2"]),

        // MARK: Canonical XML
        Case(file: "xml-xxe-file.xml", errors: [
            "xml-xxe-file.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-xxe-url.xml", errors: [
            "xml-xxe-url.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-parameter-entities.xml", errors: [
            "xml-parameter-entities.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-billion-laughs.xml", errors: [
            "xml-billion-laughs.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-quadratic-blowup.xml", errors: [
            "xml-quadratic-blowup.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-doctype-plain.xml", errors: [
            "xml-doctype-plain.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-doctype-after-comment.xml", errors: [
            "xml-doctype-after-comment.xml:4: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here",
        ], kept: []),
        Case(file: "xml-utf16-bom.xml", errors: [
            "xml-utf16-bom.xml: UTF-16 input (with a byte order mark); convert it to UTF-8",
        ], kept: []),
        Case(file: "xml-utf16le-no-bom.xml", errors: [
            "xml-utf16le-no-bom.xml: UTF-16 or UTF-32 input (NUL bytes at the start, no byte order mark); convert it to UTF-8",
        ], kept: []),
        Case(file: "xml-utf16-doctype.xml", errors: [
            "xml-utf16-doctype.xml: UTF-16 input (with a byte order mark); convert it to UTF-8",
        ], kept: []),
        Case(file: "xml-entity-reference.xml", errors: [
            "xml-entity-reference.xml:4: not well-formed XML: Entity 'xxe' not defined; reading stopped here",
        ], kept: ["p-1"]),
        Case(file: "xml-truncated.xml", errors: [
            "xml-truncated.xml:5: truncated: the input ends before the closing </exchanges>; reading stopped here",
        ], kept: ["p-1", "p-2"]),
        Case(file: "xml-wrong-root-namespace.xml", errors: [
            "xml-wrong-root-namespace.xml: XML in neither the namespace urn:ketenzicht:exchange:1 nor an iStandaarden (iJw/iWmo) one; give --format xml to read it as canonical XML anyway",
        ], kept: []),
        Case(file: "xml-foreign-event-namespace.xml", errors: [
            "xml-foreign-event-namespace.xml:4: event f-1 (urn:hostile): unknown element <party> in namespace urn:other; expected one of party, assessment, referral, accepted, started, completed, rejected, withdrawn, regie in namespace urn:ketenzicht:exchange:1",
            "xml-foreign-event-namespace.xml:5: event f-2 (urn:hostile): unknown element <teleport>; expected one of party, assessment, referral, accepted, started, completed, rejected, withdrawn, regie in namespace urn:ketenzicht:exchange:1",
        ], kept: ["p-1", "p-2"]),
        Case(file: "xml-invalid-utf8.xml", errors: [
            "xml-invalid-utf8.xml:4: not well-formed XML: Input is not proper UTF-8, indicate encoding !; Bytes: 0xC3 0x28 0x69 0x64; reading stopped here",
        ], kept: ["p-1"]),
        Case(file: "xml-nul-byte.xml", errors: [
            "xml-nul-byte.xml:4: not well-formed XML: Char 0x0 out of allowed range; reading stopped here",
        ], kept: ["p-1"]),
        Case(file: "xml-impossible-date.xml", errors: [
            "xml-impossible-date.xml:4: event d-1 (urn:hostile): @time: impossible date 2027-06-31: that month has 30 days (got \"2027-06-31T10:00:00+02:00\")",
        ], kept: ["p-1", "p-2", "r-1-created"]),
        Case(file: "xml-missing-and-mistyped.xml", errors: [
            "xml-missing-and-mistyped.xml:4: event m-1 (urn:hostile): @time: missing",
            "xml-missing-and-mistyped.xml:5: event m-2 (urn:hostile): @capacityPerWeek: not a number: \"vier\"",
            "xml-missing-and-mistyped.xml:6: event m-3 (urn:hostile): @referral: missing",
            "xml-missing-and-mistyped.xml:7: event m-4 (urn:hostile): name: missing",
        ], kept: ["p-1", "p-2", "r-1-created"]),
        Case(file: "xml-self-referral-and-cycle.xml", errors: [
            "xml-self-referral-and-cycle.xml:5: event s-1 (urn:hostile): @to: self-referral: from and to are both km-noord",
            "xml-self-referral-and-cycle.xml:7: event c-b (urn:hostile): dependsOn: dependsOn cycle: r-b → r-a → r-b",
        ], kept: ["p-1", "p-2", "c-a", "r-1-created"]),
        Case(file: "xml-huge-numbers.xml", errors: [
            "xml-huge-numbers.xml:4: event h-1 (urn:hostile): @capacityPerWeek: number out of range",
            "xml-huge-numbers.xml:5: event h-2 (urn:hostile): score/@value: the value '#########' is greater than the maximum value allowed ('5')",
            "xml-huge-numbers.xml:6: event h-3 (urn:hostile): @normDays: not a number: \"1e400\"",
        ], kept: ["p-1", "p-2"]),
        Case(file: "xml-bsn-elfproef.xml", errors: [
            "xml-bsn-elfproef.xml:5: event b-1 (urn:hostile): @bsn: BSN fails the elfproef (11-check)",
            "xml-bsn-elfproef.xml:6: event b-2 (urn:hostile): @bsn: a BSN is 9 digits (got 8 characters)",
        ], kept: ["p-1", "p-2", "b-3"]),
        Case(file: "xml-after-rejected.xml", errors: [
            "xml-after-rejected.xml:7: event j-1 (urn:hostile): @time: started at 2026-03-10T09:00:00Z comes after the referral was rejected at 2026-03-04T09:00:00Z",
            "xml-after-rejected.xml:8: event j-2 (urn:hostile): element: referral r-1 already ended: rejected at 2026-03-04T09:00:00Z",
        ], kept: ["p-1", "p-2", "r-1-created", "r-1-rejected", "g-1"]),

        // MARK: iStandaarden
        Case(file: "ijw-315-release-3-1.xml", errors: [
            "ijw-315-release-3-1.xml: ijw release 3.1 is not supported; this build reads iJw and iWmo 3.2",
        ], kept: [], around: ["ijw-315.xml", "ijw-301.xml"]),
        Case(file: "ijw-315-berichtversie-4.xml", errors: [
            "ijw-315-berichtversie-4.xml:5: event JW315-H001 (urn:istandaarden:ijw:12345678): Header/BerichtVersie: the value '4' is not accepted by the pattern '3'; message refused",
        ], kept: [], around: ["ijw-315.xml", "ijw-301.xml"]),
        Case(file: "ijw-305-onbekende-berichtcode.xml", errors: [
            "ijw-305-onbekende-berichtcode.xml:4: event JW305-H001 (urn:istandaarden:ijw:12345678): Header/BerichtCode: the value '999' is not accepted by the pattern '438'; message refused",
        ], kept: [], around: ["ijw-301.xml", "ijw-305.xml"]),
        Case(file: "ijw-315-zonder-bsn.xml", errors: [
            "ijw-315-zonder-bsn.xml:19: event JW315-H002 (urn:istandaarden:ijw:12345678): Client/Geboortedatum: this element is not expected. Expected is ( Bsn ); message refused",
        ], kept: [], around: ["ijw-315.xml", "ijw-301.xml"]),
        Case(file: "ijw-315-product-zonder-verwijzer.xml", errors: [
            "ijw-315-product-zonder-verwijzer.xml:48: event JW315-H003/2 (urn:istandaarden:ijw:12345678): Client/AangevraagdeProducten/AangevraagdProduct[2]: missing child element(s). Expected is one of ( ToewijzingEinddatum, Omvang, Budget, Verwijzer )",
        ], kept: [
            "party/huisarts-agb-01234567/2026-03", "party/agb-12345678-jeugd/2026-03",
            "party/medisch-specialist-dr-a-de-wit-olvg/2026-03", "JW315-H003/1", "JW315-H003/3",
        ]),
        Case(file: "iwmo-301-zonder-toewijzingsdatum.xml", errors: [
            "iwmo-301-zonder-toewijzingsdatum.xml:51: event WMO301-H001/1 (urn:istandaarden:iwmo:0599): Client/ToegewezenProducten/ToegewezenProduct[1]/Toewijzingstijd: this element is not expected. Expected is ( Toewijzingsdatum )",
        ], kept: ["WMO301-H001/2"], around: ["iwmo-315.xml"]),
        Case(file: "iwmo-305-doctype-xxe.xml", errors: [
            "iwmo-305-doctype-xxe.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); message refused",
        ], kept: [], around: ["iwmo-301.xml", "iwmo-307.xml"]),
        Case(file: "iwmo-307-afgekapt.xml", errors: [
            "iwmo-307-afgekapt.xml:22: truncated: the input ends before the closing </Bericht>; message refused",
        ], kept: [], around: ["iwmo-301.xml", "iwmo-305.xml"]),
    ]

    /// A fresh state directory, removed when the test ends.
    final class State {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kz-hostile-\(UUID().uuidString)").path
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func eventIDs(_ ledger: Ledger) throws -> [String] {
        try ledger.store.allEventLines().map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["id"] as? String ?? "?"
        }
    }

    @Test(arguments: cases)
    func refusedExactlyAndNeighboursKept(_ hostile: Case) throws {
        let state = State()
        let ledger = try Ledger(stateDirectory: state.path)
        let (before, after) = (hostile.around.prefix(1), hostile.around.dropFirst())
        for name in before { _ = try ledger.ingest(.file(path: Self.fixtures + "/" + name), receivedAt: Self.received) }
        let storedBefore = try Self.eventIDs(ledger)
        let quarantinedBefore = try ledger.store.counts().quarantined

        let summary = try ledger.ingest(.file(path: Self.corpus + "/" + hostile.file), receivedAt: Self.received)
        let storedByFile = Array(try Self.eventIDs(ledger).dropFirst(storedBefore.count))
        let quarantinedByFile = try ledger.store.counts().quarantined - quarantinedBefore
        for name in after { _ = try ledger.ingest(.file(path: Self.fixtures + "/" + name), receivedAt: Self.received) }

        #expect(summary.errors.map { $0.description.replacingOccurrences(of: Self.corpus + "/", with: "") } == hostile.errors)
        #expect(summary.rejected == hostile.errors.count)
        #expect(summary.warnings.filter { !$0.message.contains("is held and applied when the 301 arrives") }.isEmpty)
        #expect(summary.duplicates == hostile.duplicates)
        #expect(storedByFile == hostile.kept, "valid neighbours in the file")
        #expect(summary.accepted + summary.pending == hostile.kept.count)
        #expect(quarantinedByFile == hostile.errors.count, "everything refused is quarantined")
        if !hostile.around.isEmpty {
            // The messages around a refused one are kept whole: as many events as without it.
            let alone = State()
            let reference = try Ledger(stateDirectory: alone.path)
            for name in hostile.around { _ = try reference.ingest(.file(path: Self.fixtures + "/" + name), receivedAt: Self.received) }
            #expect(Set(try Self.eventIDs(ledger)) == Set(try Self.eventIDs(reference)).union(hostile.kept))
        }
    }

    /// Every file in the corpus is exercised here and described in the README, and nothing else is.
    @Test func corpusCasesAndReadmeCoverEveryFile() throws {
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: Self.corpus)).subtracting(["README.md"])
        #expect(files == Set(Self.cases.map(\.file)))
        #expect(files.count >= 30)
        let readme = try String(contentsOfFile: Self.corpus + "/README.md", encoding: .utf8)
        for file in files { #expect(readme.contains("`\(file)`"), "\(file) is not in the README") }
        for file in files {
            let size = (try FileManager.default.attributesOfItem(atPath: Self.corpus + "/" + file)[.size] as? Int) ?? 0
            #expect(size < 100_000, "\(file) is \(size) bytes: generate big inputs at test time")
        }
    }
}
