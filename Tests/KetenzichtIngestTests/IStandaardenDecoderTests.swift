import Foundation
import KetenzichtCore
import Testing
@testable import KetenzichtIngest

/// iJw / iWmo 3.2 messages (SPEC §2.3). The fixtures in `IStandaarden/` were written from the
/// XSDs and checked with `xmllint --noout --schema` (only the ones meant to fail do).
@Suite struct IStandaardenDecoderTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = here.appendingPathComponent("IStandaarden").path
    static let schemas = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/schema/istandaarden").path
    static let pseudonymizer = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))

    /// The personal details written into the fixtures: none may come out of the decoder.
    static let personal = [
        "111222333", "123456782", "123456789", "Bakker", "Sanne", "Keizersgracht", "1015CJ",
        "Visser", "Daan", "Coolsingel", "3011AD", "Rotterdam", "2014-05-17", "1948-11-02",
    ]

    static func decoder(links: IStandaardenLinks = IStandaardenLinks()) -> IStandaardenDecoder {
        IStandaardenDecoder(assembler: EventAssembler(pseudonymizer: pseudonymizer), links: links, schemaDirectory: schemas)
    }

    static func decode(_ names: [String], links: IStandaardenLinks = IStandaardenLinks()) -> [DecodeRecord] {
        let decoder = decoder(links: links)
        var records: [DecodeRecord] = []
        for name in names {
            decoder.decode(.file(path: fixtures + "/" + name), progress: nil) { records.append($0) }
        }
        return records
    }

    static func decode(bytes text: String, links: IStandaardenLinks = IStandaardenLinks()) -> [DecodeRecord] {
        var records: [DecodeRecord] = []
        decoder(links: links).decode(.bytes(Array(text.utf8), origin: "request"), progress: nil) { records.append($0) }
        return records
    }

    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: fixtures + "/" + name, encoding: .utf8)
    }

    static func day(_ text: String) throws -> Timestamp { try Timestamp(rfc3339: text) }

    static func created(_ records: [DecodeRecord]) -> [ReferralCreation] {
        records.compactMap { if case .referralCreated(let creation)? = $0.event?.body { creation } else { nil } }
    }

    static func statuses(_ records: [DecodeRecord]) -> [ReferralStatusChange] {
        records.compactMap { if case .referralStatus(let change)? = $0.event?.body { change } else { nil } }
    }

    static func parties(_ records: [DecodeRecord]) -> [String: PartyRegistration] {
        var parties: [String: PartyRegistration] = [:]
        for record in records { if case .partyRegistered(let registration)? = record.event?.body { parties[registration.party] = registration } }
        return parties
    }

    static func errors(_ records: [DecodeRecord]) -> [IngestIssue] { records.compactMap(\.issue).filter { $0.severity == .error } }
    static func notes(_ records: [DecodeRecord]) -> [IngestIssue] { records.compactMap(\.issue).filter { $0.severity == .warning } }

    // MARK: 315

    @Test func ijw315CreatesOneReferralPerProductFromItsVerwijzer() throws {
        let records = Self.decode(["ijw-315.xml"])
        #expect(Self.errors(records).isEmpty && Self.notes(records).isEmpty)
        let caseID = try Self.pseudonymizer.caseID(forBSN: "111222333")
        let created = Self.created(records)
        #expect(created.map(\.referral) == ["ijw-0363-12345678-ref-REF-A1", "ijw-0363-12345678-ref-REF-A2", "ijw-0363-12345678-ref-REF-A3"])
        #expect(created.map(\.from) == ["huisarts-agb-01234567", "gemeente-0363-jeugd", "medisch-specialist-dr-a-de-wit-olvg"])
        #expect(created.allSatisfy { $0.to == "agb-12345678-jeugd" && $0.caseID == caseID })
        let events = records.compactMap(\.event).filter { $0.type == .referralCreated }
        #expect(events.map(\.identity.id) == ["JW315-0001/1", "JW315-0001/2", "JW315-0001/3"])
        #expect(events.allSatisfy { $0.identity.source == "urn:istandaarden:ijw:12345678" })
        // Dagtekening 2026-03-02 at midnight in Amsterdam (CET).
        #expect(events.allSatisfy { $0.time == (try? Self.day("2026-03-02T00:00:00+01:00")) })

        let parties = Self.parties(records)
        #expect(Set(parties.keys) == ["gemeente-0363-jeugd", "agb-12345678-jeugd", "huisarts-agb-01234567", "medisch-specialist-dr-a-de-wit-olvg"])
        #expect(parties["agb-12345678-jeugd"]?.domain == "jeugd")
        #expect(parties["gemeente-0363-jeugd"]?.domain == "jeugd")
        #expect(parties["huisarts-agb-01234567"]?.domain == "huisarts")
        #expect(parties["huisarts-agb-01234567"]?.name == "Huisarts AGB 01234567")
        #expect(parties["medisch-specialist-dr-a-de-wit-olvg"]?.name == "Dr. A. de Wit, OLVG")
        // Registrations come before the referrals that name them, once per sender and month.
        let partyEvents = records.compactMap(\.event).filter { $0.type == .partyRegistered }
        #expect(partyEvents.allSatisfy { $0.identity.id.hasSuffix("/2026-03") && $0.time == (try? Self.day("2026-03-01T00:00:00+01:00")) })
        #expect(records.firstIndex { $0.event?.type == .referralCreated }! > records.lastIndex { $0.event?.type == .partyRegistered }!)
    }

    @Test func iwmo315WithZelfverwijzerNameOnlyAndAgbVerwijzers() throws {
        let records = Self.decode(["iwmo-315.xml"])
        #expect(Self.errors(records).isEmpty)
        let created = Self.created(records)
        #expect(created.map(\.referral) == ["iwmo-0599-87654321-ref-REF-W1", "iwmo-0599-87654321-ref-REF-W2", "iwmo-0599-87654321-ref-REF-W3"])
        #expect(created.map(\.from) == ["zelfverwijzer", "huisarts-huisartsenpraktijk-de-linde", "medisch-specialist-agb-03999999"])
        #expect(created.allSatisfy { $0.to == "agb-87654321-wmo" && $0.caseID == (try? Self.pseudonymizer.caseID(forBSN: "123456782")) })
        let parties = Self.parties(records)
        #expect(parties["agb-87654321-wmo"]?.domain == "wmo")
        #expect(parties["huisarts-huisartsenpraktijk-de-linde"]?.name == "Huisartsenpraktijk De Linde")
        #expect(parties["huisarts-huisartsenpraktijk-de-linde"]?.domain == "huisarts")
        #expect(parties["zelfverwijzer"]?.regieEligible == false)
        #expect(parties["medisch-specialist-agb-03999999"]?.domain == "overig")
        // The verwijzer type 01 (gemeente) is not used here, so no gemeente team is registered.
        #expect(parties["gemeente-0599-wmo"] == nil)
        // 2026-04-01 is summer time: midnight is 22:00 UTC the day before.
        #expect(records.compactMap(\.event).filter { $0.type == .referralCreated }.allSatisfy { $0.time == (try? Self.day("2026-03-31T22:00:00Z")) })
    }

    // MARK: 301, 305, 307

    @Test func ijw301AcceptsThe315ReferralOrCreatesOneFromTheGemeente() throws {
        let records = Self.decode(["ijw-301.xml"])
        #expect(Self.errors(records).isEmpty)
        let created = Self.created(records)
        #expect(created.count == 1)
        #expect(created.first?.referral == "ijw-0363-12345678-tw-5002")
        #expect(created.first?.from == "gemeente-0363-jeugd")
        #expect(created.first?.to == "agb-12345678-jeugd")
        #expect(Self.statuses(records) == [
            ReferralStatusChange(referral: "ijw-0363-12345678-ref-REF-A1", step: .accepted),
            ReferralStatusChange(referral: "ijw-0363-12345678-tw-5002", step: .accepted),
        ])
        let events = records.compactMap(\.event)
        #expect(events.filter { $0.type != .partyRegistered }.map(\.identity.id) == ["JW301-0001/1", "JW301-0001/2/created", "JW301-0001/2"])
        #expect(events.allSatisfy { $0.identity.source == "urn:istandaarden:ijw:0363" })
        #expect(events.filter { $0.type == .referralAccepted }.allSatisfy { $0.time == (try? Self.day("2026-03-06T00:00:00+01:00")) })
    }

    @Test func iwmo305And307FollowTheToewijzingNummerToThe315Referral() throws {
        let records = Self.decode(["iwmo-301.xml", "iwmo-305.xml", "iwmo-307.xml"])
        #expect(Self.errors(records).isEmpty && Self.notes(records).isEmpty)
        #expect(Self.statuses(records) == [
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W1", step: .accepted),
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W2", step: .accepted),
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W1", step: .started),
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W2", step: .started),
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W1", step: .completed, note: "RedenBeeindiging 19: levering volgens plan beëindigd"),
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W2", step: .completed, note: "RedenBeeindiging 22: levering eenzijdig door aanbieder beëindigd"),
        ])
        let started = records.compactMap(\.event).filter { $0.type == .referralStarted }
        #expect(started.map(\.time) == [try Self.day("2026-04-20T00:00:00+02:00"), try Self.day("2026-05-04T00:00:00+02:00")])
        #expect(started.map(\.identity) == [
            EventIdentity(source: "urn:istandaarden:iwmo:87654321", id: "WMO305-0001/1"),
            EventIdentity(source: "urn:istandaarden:iwmo:87654321", id: "WMO305-0001/2"),
        ])
        let completed = records.compactMap(\.event).filter { $0.type == .referralCompleted }
        #expect(completed.map(\.time) == [try Self.day("2026-07-01T00:00:00+02:00"), try Self.day("2026-06-15T00:00:00+02:00")])
    }

    @Test func aChangedToewijzingIsANoteNotASecondAcceptance() throws {
        let links = IStandaardenLinks()
        _ = Self.decode(["ijw-301.xml"], links: links)
        let changed = try Self.fixture("ijw-301.xml")
            .replacingOccurrences(of: "JW301-0001", with: "JW301-0009")
            .replacingOccurrences(of: "      </ToegewezenProduct>", with: "        <RedenWijziging>01</RedenWijziging>\n      </ToegewezenProduct>")
        let records = Self.decode(bytes: changed, links: links)
        #expect(Self.errors(records).isEmpty)
        #expect(records.compactMap(\.event).isEmpty)
        #expect(Self.notes(records).map(\.field) == ["Client/ToegewezenProducten/ToegewezenProduct[1]/RedenWijziging", "Client/ToegewezenProducten/ToegewezenProduct[2]/RedenWijziging"])
    }

    @Test func startsBeforeTheirToewijzingAreHeldAndReleasedByIt() throws {
        let links = IStandaardenLinks()
        let early = Self.decode(["ijw-305.xml", "ijw-307.xml"], links: links)
        #expect(early.compactMap(\.event).isEmpty)
        #expect(Self.errors(early).isEmpty)
        #expect(Self.notes(early).count == 3)
        #expect(Self.notes(early).allSatisfy { $0.message.contains("is held and applied when the 301 arrives") })
        let late = Self.decode(["ijw-301.xml"], links: links)
        #expect(Self.statuses(late) == [
            ReferralStatusChange(referral: "ijw-0363-12345678-ref-REF-A1", step: .accepted),
            ReferralStatusChange(referral: "ijw-0363-12345678-ref-REF-A1", step: .started),
            ReferralStatusChange(referral: "ijw-0363-12345678-ref-REF-A1", step: .completed, note: "RedenBeeindiging 31: levering volgens plan beëindigd"),
            ReferralStatusChange(referral: "ijw-0363-12345678-tw-5002", step: .accepted),
            ReferralStatusChange(referral: "ijw-0363-12345678-tw-5002", step: .started),
        ])
        // The released events keep the identity of their own message: the same events as in order.
        let inOrder = Self.decode(["ijw-301.xml", "ijw-305.xml", "ijw-307.xml"])
        let sortedIdentities = { (records: [DecodeRecord]) in records.compactMap(\.event).map(\.canonicalJSON).sorted() }
        #expect(sortedIdentities(late) == sortedIdentities(inOrder))
    }

    @Test func heldStatusesAndLinksSurviveARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kz-istd-links-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = Self.decode(["iwmo-305.xml"], links: IStandaardenLinks(directory: directory))
        let afterRestart = Self.decode(["iwmo-301.xml"], links: IStandaardenLinks(directory: directory))
        #expect(Self.statuses(afterRestart).filter { $0.step == .started }.map(\.referral) == ["iwmo-0599-87654321-ref-REF-W1", "iwmo-0599-87654321-ref-REF-W2"])
        let again = Self.decode(["iwmo-307.xml"], links: IStandaardenLinks(directory: directory))
        #expect(Self.statuses(again).map(\.referral) == ["iwmo-0599-87654321-ref-REF-W1", "iwmo-0599-87654321-ref-REF-W2"])
        let table = try String(contentsOfFile: directory + "/" + IStandaardenLinks.fileName, encoding: .utf8)
        for detail in Self.personal { #expect(!table.contains(detail)) }
    }

    // MARK: 319 and skipped messages

    @Test func answer319RejectsOnlyWithVerzoekAntwoord1() throws {
        let rejected = Self.decode(["ijw-319-afgewezen.xml", "iwmo-319.xml"])
        #expect(Self.errors(rejected).isEmpty)
        #expect(Self.statuses(rejected) == [
            ReferralStatusChange(referral: "ijw-0363-12345678-ref-REF-A2", step: .rejected, note: "RedenAfwijzingVerzoek 3: geen contract"),
            ReferralStatusChange(referral: "iwmo-0599-87654321-ref-REF-W3", step: .rejected, note: "RedenAfwijzingVerzoek 7: zorginhoudelijke afkeur"),
        ])
        #expect(rejected.compactMap(\.event).map(\.identity) == [
            EventIdentity(source: "urn:istandaarden:ijw:0363", id: "JW319-0001/1"),
            EventIdentity(source: "urn:istandaarden:iwmo:0599", id: "WMO319-0001/1"),
        ])
        let inOnderzoek = Self.decode(["ijw-319-onderzoek.xml"])
        #expect(inOnderzoek.compactMap(\.event).isEmpty)
        #expect(Self.errors(inOnderzoek).isEmpty)
        #expect(Self.notes(inOnderzoek).map(\.message) == ["skipped: VerzoekAntwoord 2 (aanvraag in onderzoek) changes no referral status"])
    }

    @Test func retourMessagesAreSkippedWithANote() throws {
        let records = Self.decode(["ijw-302-retour.xml"])
        #expect(records.count == 1)
        #expect(records.first?.issue?.severity == .warning)
        #expect(records.first?.issue?.message == "skipped: JW302 (a retour message) is not mapped to events")
        let unknownRelease = Self.decode(bytes: try Self.fixture("ijw-305.xml").replacingOccurrences(of: "ijw/3_2/jw305", with: "ijw/3_1/jw305"))
        #expect(Self.errors(unknownRelease).map(\.message) == ["ijw release 3.1 is not supported; this build reads iJw and iWmo 3.2"])
    }

    // MARK: Bad input

    @Test func anImpossibleDateRefusesItsProductAndKeepsTheOthers() throws {
        let records = Self.decode(["ijw-315-onmogelijke-datum.xml"])
        let errors = Self.errors(records)
        #expect(errors.count == 1)
        #expect(errors.first?.field == "Client/AangevraagdeProducten/AangevraagdProduct[1]/ToewijzingEinddatum")
        #expect(errors.first?.message == "impossible date 2027-06-31: that month has 30 days")
        #expect(errors.first?.event == EventIdentity(source: "urn:istandaarden:ijw:12345678", id: "JW315-0002/1"))
        #expect(errors.first?.location.line == 37)
        #expect(Self.created(records).map(\.referral) == ["ijw-0363-12345678-ref-REF-B2"])
        #expect(Self.created(records).first?.from == "jeugdarts-jeugdarts-ggd-amsterdam")
        let raw = records.compactMap(\.raw).first ?? ""
        #expect(raw.contains("<ToewijzingEinddatum>2027-06-31</ToewijzingEinddatum>"))
    }

    @Test func aRefusedProductIsQuarantinedWithoutAZelfverwijzersName() throws {
        // A zelfverwijzer's Verwijzer/Naam is the client's own name.
        let text = try Self.fixture("iwmo-315.xml")
            .replacingOccurrences(of: "<b:Type>06</b:Type>", with: "<b:Type>06</b:Type>\n          <b:Naam>Daan Visser</b:Naam>")
            .replacingOccurrences(of: "<ToewijzingIngangsdatum>2026-04-15</ToewijzingIngangsdatum>", with: "<ToewijzingIngangsdatum>2027-06-31</ToewijzingIngangsdatum>")
        let records = Self.decode(bytes: text)
        #expect(Self.errors(records).count == 3)
        let raw = records.compactMap(\.raw).first ?? ""
        #expect(raw.contains("<ToewijzingIngangsdatum>2027-06-31</ToewijzingIngangsdatum>"))
        #expect(!records.compactMap(\.raw).joined().contains("Visser"))
    }

    @Test func aBsnFailingTheElfproefRefusesTheMessageWithoutRepeatingIt() throws {
        let records = Self.decode(["ijw-315-elfproef.xml"])
        #expect(records.compactMap(\.event).isEmpty)
        let errors = Self.errors(records)
        #expect(errors.count == 1)
        #expect(errors.first?.field == "Client/Bsn")
        #expect(errors.first?.message == "BSN fails the elfproef (11-check); message refused")
        #expect(records.first?.raw == nil)
        #expect(!"\(errors)".contains("123456789"))
    }

    @Test func schemaErrorsNameTheElementPath() throws {
        let product = Self.decode(["ijw-305-zonder-begindatum.xml"])
        let errors = Self.errors(product)
        #expect(errors.count == 1)
        #expect(errors.first?.field == "Client/StartProducten/StartProduct[2]/StatusAanlevering")
        #expect(errors.first?.message.contains("Expected is one of ( Product, ToewijzingIngangsdatum, Begindatum )") == true)
        // The first product is fine (held: its ToewijzingNummer has no 301 here).
        #expect(Self.notes(product).first?.field == "Client/StartProducten/StartProduct[1]/ToewijzingNummer")

        let header = Self.decode(["ijw-307-zonder-dagtekening.xml"])
        #expect(header.compactMap(\.event).isEmpty)
        #expect(Self.errors(header).map(\.field) == ["Header/BerichtIdentificatie"])
        #expect(Self.errors(header).first?.message == "missing child element(s). Expected is ( Dagtekening ); message refused")
    }

    @Test func schemaErrorsInPersonalElementsDoNotEchoTheValue() throws {
        let long = String(repeating: "Bakker", count: 40)
        let text = try Self.fixture("ijw-305.xml").replacingOccurrences(of: "<b:Achternaam>Bakker</b:Achternaam>", with: "<b:Achternaam>\(long)</b:Achternaam>")
        let records = Self.decode(bytes: text)
        #expect(records.compactMap(\.event).isEmpty)
        let error = try #require(Self.errors(records).first)
        #expect(error.field == "Client/Naam/Geslachtsnaam/Achternaam")
        #expect(error.message.contains("(not shown)"))
        #expect(!error.description.contains("Bakker"))
    }

    @Test func notWellFormedIsOneErrorForTheMessage() throws {
        let text = try Self.fixture("ijw-305.xml")
        let records = Self.decode(bytes: String(text.prefix(text.count - 40)))
        #expect(records.compactMap(\.event).isEmpty)
        #expect(Self.errors(records).count == 1)
        #expect(Self.errors(records).first?.message.hasSuffix("message refused") == true)
        let doctype = Self.decode(bytes: text.replacingOccurrences(of: "<Bericht ", with: "<!DOCTYPE Bericht [<!ENTITY x \"y\">]>\n<Bericht "))
        #expect(Self.errors(doctype).first?.message.hasPrefix("DOCTYPE declarations are not allowed") == true)
    }

    @Test func aBsnShapedReferenceNeverBecomesPartOfAnId() throws {
        let text = try Self.fixture("ijw-315.xml").replacingOccurrences(of: "REF-A1", with: "111222333")
        let records = Self.decode(bytes: text)
        let referral = try #require(Self.created(records).first?.referral)
        #expect(!referral.contains("111222333"))
        // Keyed like a pseudonym: an unkeyed hash of nine digits is reversed by trying them all.
        #expect(referral == "ijw-0363-12345678-ref-bsn-" + Self.pseudonymizer.keyedDigest(of: "111222333"))
    }

    // MARK: Privacy, directories, detection

    @Test func noPersonalDetailLeavesTheDecoder() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures).sorted()
        let records = Self.decode(names)
        #expect(records.compactMap(\.event).count > 30)
        var output = records.compactMap(\.event).map(\.canonicalJSON).joined(separator: "\n")
        output += records.compactMap(\.issue).map(\.description).joined(separator: "\n")
        output += records.compactMap(\.raw).joined(separator: "\n")
        for detail in Self.personal { #expect(!output.contains(detail), "\(detail) leaked") }
    }

    @Test func aDirectoryIsReadAsItsMessages() throws {
        var records: [DecodeRecord] = []
        let progress = ProgressLog()
        Self.decoder().decode(.file(path: Self.fixtures), progress: progress.callback) { records.append($0) }
        let origins = Set(records.map(\.location.origin))
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures)
        #expect(origins == Set(files.map { Self.fixtures + "/" + $0 }))
        #expect(progress.reports.last.map { $0.bytesRead == $0.totalBytes } == true)
    }

    @Test func formatsAreDetectedFromTheNamespace() throws {
        #expect(try InputFormat.detect(prefix: Array(try Self.fixture("ijw-315.xml").utf8)) == .ijw)
        #expect(try InputFormat.detect(prefix: Array(try Self.fixture("iwmo-315.xml").utf8)) == .iwmo)
        #expect(try InputFormat.detect(path: Self.fixtures) == .ijw)
        #expect(try IStandaardenMessageKind.identify(prefix: Array(try Self.fixture("iwmo-307.xml").utf8)) == IStandaardenMessageKind(standard: .iwmo, number: "307"))
    }

    @Test func amsterdamMidnightFollowsSummerTime() throws {
        #expect(try amsterdamMidnight(year: 2026, month: 3, day: 29) == Self.day("2026-03-29T00:00:00+01:00"))
        #expect(try amsterdamMidnight(year: 2026, month: 3, day: 30) == Self.day("2026-03-30T00:00:00+02:00"))
        #expect(try amsterdamMidnight(year: 2026, month: 10, day: 25) == Self.day("2026-10-25T00:00:00+02:00"))
        #expect(try amsterdamMidnight(year: 2026, month: 10, day: 26) == Self.day("2026-10-26T00:00:00+01:00"))
        #expect(throws: TimestampError.impossibleDate(year: 2027, month: 6, day: 31)) { try amsterdamMidnight(year: 2027, month: 6, day: 31) }
    }

    @Test func schemasAreFoundWithoutASetting() {
        #expect(IStandaardenSchemas.directory(explicit: nil) != nil)
    }
}
