import Foundation
import KetenzichtIngest
import Testing

/// The SPEC §4 audit, end to end through the real binary and the real socket: known BSNs,
/// client names, birth dates and addresses go in through every format (CloudEvents, canonical
/// XML, iJw, iWmo) and every path (`ketenzicht ingest --state`, the socket's `ingest` with `data`
/// and with `path`, the inbox), valid and refused alike; then every socket method is called and
/// every view written. Afterwards not one of those details may appear, as raw bytes, anywhere
/// Ketenzicht writes or answers: the state directory (SQLite database, WAL and shared memory,
/// key, link table, alert log), the inbox's error reports, the daemon's log, the CLI's output,
/// every dot and SVG file, and every socket answer. See docs/privacy.md.
@Suite(.serialized) struct PrivacyAuditTests {
    typealias Daemon = DaemonProcess
    typealias Client = RPCClient

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KetenzichtIngestTests/IStandaarden").path

    /// Elfproef-valid BSNs: 0, 1, 4 and 5 reach accepted events; 2 and 3 only refused ones.
    static let bsns = ["111222333", "123456782", "725763863", "162275869", "192285142", "691682483"]
    /// Fails the elfproef: refused, and must not be echoed either.
    static let failingBSN = "123456789"
    static let names = [("Johanna", "Verhoeven"), ("Mohamed", "El Khatib"), ("Anneke", "Zwartjes"), ("Teun", "Oosterhuis")]
    static let birthDates = ["1961-08-23", "2012-02-17"]
    /// Street, house number, postcode (as written, and without the space), place.
    static let addresses = [
        ("Lindengracht", "214", "1015 KD", "Kleiwerd"),
        ("Zwanenburgwal", "9", "1011 JT", "Oudendijkerveen"),
        ("Oudegracht", "312", "3511 AZ", "Wijkerbroek"),
        ("Kleine Houtstraat", "77", "2011 DN", "Haarlemmerliede"),
    ]

    /// Everything that must never come out: each BSN plain and written with separators, each
    /// name whole and in parts, each birth date, each street, street with number, postcode (with
    /// and without its space) and place.
    static var forbidden: [String] {
        var terms: [String] = []
        for bsn in bsns + [failingBSN] {
            let d = Array(bsn)
            let groups = (String(d[0..<3]), String(d[3..<6]), String(d[6..<9]))
            terms += [bsn, "\(groups.0) \(groups.1) \(groups.2)", "\(groups.0).\(groups.1).\(groups.2)",
                      "\(groups.0)-\(groups.1)-\(groups.2)", "\(String(d[0..<4])).\(String(d[4..<6])).\(String(d[6..<9]))"]
        }
        for (first, last) in names { terms += ["\(first) \(last)", first, last] }
        terms += birthDates
        for (street, number, postcode, place) in addresses {
            terms += [street, "\(street) \(number)", postcode, postcode.replacingOccurrences(of: " ", with: ""), place]
        }
        return terms
    }

    // MARK: Inputs

    struct Input {
        var name: String
        var format: String
        var text: String
    }

    /// The inputs for one path; `tag` keeps their event ids and referrals apart from the other
    /// paths', so that none is a duplicate and every path does the full work.
    static func inputs(_ tag: String) throws -> [Input] {
        [
            Input(name: "audit-\(tag).ndjson", format: "cloudevents", text: cloudEvents(tag)),
            Input(name: "audit-\(tag).xml", format: "xml", text: canonicalXML(tag)),
            Input(name: "audit-\(tag)-ijw315.xml", format: "ijw", text: try ijw315(tag)),
            Input(name: "audit-\(tag)-iwmo315.xml", format: "iwmo", text: try iwmo315(tag, bsn: bsns[5], identificatie: "P-\(tag)-W315")),
            Input(name: "audit-\(tag)-iwmo301.xml", format: "iwmo", text: try iwmo301(tag)),
            Input(name: "audit-\(tag)-iwmo315-elfproef.xml", format: "iwmo", text: try iwmo315(tag, bsn: failingBSN, identificatie: "P-\(tag)-WX15")),
        ]
    }

    static func cloudEvent(_ tag: String, _ id: String, _ type: String, _ time: String, _ data: String, extensions: String = "") -> String {
        #"{"specversion":"1.0","id":"\#(tag)-\#(id)","source":"urn:audit:\#(tag)","type":"nl.ketenzicht.\#(type)","time":"\#(time)"\#(extensions),"data":\#(data)}"#
    }

    static func cloudEvents(_ tag: String) -> String {
        let (a, b, c, d) = (addresses[0], addresses[1], addresses[2], addresses[3])
        return [
            cloudEvent(tag, "p1", "party.registered", "2026-03-01T09:00:00+01:00", #"{"party":"km-audit","name":"Klantmanagers Audit","domain":"participatie"}"#),
            cloudEvent(tag, "p2", "party.registered", "2026-03-01T09:00:00+01:00", #"{"party":"ggz-audit","name":"GGZ Audit","domain":"ggz"}"#),
            // Names and addresses where senders put them: unknown data fields and extension attributes.
            cloudEvent(tag, "r1", "referral.created", "2026-03-02T10:00:00+01:00",
                       #"{"referral":"\#(tag)-r1","bsn":"\#(bsns[0])","from":"km-audit","to":"ggz-audit","clientNaam":"\#(names[0].0) \#(names[0].1)","adres":"\#(a.0) \#(a.1), \#(a.2) \#(a.3)"}"#,
                       extensions: #","subject":"\#(names[1].0) \#(names[1].1)","clientpostcode":"\#(b.2)""#),
            cloudEvent(tag, "a1", "case.assessed", "2026-03-03T10:00:00+01:00",
                       #"{"bsn":"\#(bsns[1])","zrm":{"financien":2,"geestelijke-gezondheid":1},"naam":"\#(names[2].0) \#(names[2].1)","geboortedatum":"\#(birthDates[0])"}"#),
            cloudEvent(tag, "r2", "referral.created", "2026-03-04T10:00:00+01:00", #"{"referral":"\#(tag)-r2","bsn":"\#(bsns[1])","from":"ggz-audit","to":"km-audit"}"#),
            // A BSN typed into free text, written with spaces.
            cloudEvent(tag, "w2", "referral.withdrawn", "2026-03-05T10:00:00+01:00", #"{"referral":"\#(tag)-r2","reason":"dubbel met BSN 725 763 863"}"#),
            // Refused: an impossible date, with a valid BSN and personal details beside it.
            cloudEvent(tag, "x1", "referral.created", "2027-06-31T10:00:00+02:00",
                       #"{"referral":"\#(tag)-x1","bsn":"\#(bsns[2])","from":"km-audit","to":"ggz-audit","clientNaam":"\#(names[3].0) \#(names[3].1)","adres":"\#(c.0) \#(c.1), \#(c.2)","bsnOud":"1622.75.869"}"#),
            // Refused: a BSN failing the elfproef.
            cloudEvent(tag, "x2", "referral.created", "2026-03-02T10:00:00+01:00",
                       #"{"referral":"\#(tag)-x2","bsn":"\#(failingBSN)","from":"km-audit","to":"ggz-audit","clientNaam":"\#(names[0].0) \#(names[0].1)"}"#),
            // Refused: a line cut off in the middle of an address.
            #"{"specversion":"1.0","id":"\#(tag)-x3","source":"urn:audit:\#(tag)","data":{"bsn":"\#(bsns[4])","naam":"\#(names[3].0) \#(names[3].1)","adres":"\#(d.0) \#(d.1), \#(d.2) \#(d.3)"#,
            // Refused: a BSN, written with spaces, as the case id.
            cloudEvent(tag, "x4", "referral.created", "2026-03-02T10:00:00+01:00",
                       #"{"referral":"\#(tag)-x4","case":"691 682 483","from":"km-audit","to":"ggz-audit","woonplaats":"\#(d.3)"}"#),
        ].joined(separator: "\n") + "\n"
    }

    static func canonicalXML(_ tag: String) -> String {
        let (a, b) = (addresses[0], addresses[1])
        func event(_ element: String, _ id: String, time: String = "2026-03-02T10:00:00+01:00", _ attributes: String, _ body: String = "") -> String {
            let start = #"<\#(element) id="\#(tag)-\#(id)" source="urn:audit:\#(tag)" time="\#(time)" \#(attributes)"#
            return body.isEmpty ? start + "/>" : start + ">" + body + "</\(element)>"
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <exchanges xmlns="urn:ketenzicht:exchange:1">
              \(event("referral", "xr1", #"referral="\#(tag)-xr1" bsn="\#(bsns[0])" from="km-audit" to="ggz-audit""#))
              \(event("referral", "xr2", #"referral="\#(tag)-xr2" bsn="\#(bsns[3])" from="km-audit" to="ggz-audit" naam="\#(names[2].0) \#(names[2].1)" adres="\#(b.0) \#(b.1)" bsnOud="1622.75.869""#))
              \(event("referral", "xr3", #"referral="\#(tag)-xr3" bsn="\#(bsns[1])" from="km-audit" to="ggz-audit""#, "<adres>\(a.0) \(a.1), \(a.2) \(a.3)</adres>"))
              \(event("referral", "xr4", time: "2027-06-31T10:00:00+02:00", #"referral="\#(tag)-xr4" bsn="\#(bsns[2])" from="km-audit" to="ggz-audit""#))
              \(event("referral", "xr5", #"referral="\#(tag)-xr5" bsn="\#(failingBSN)" from="km-audit" to="ggz-audit""#))
              \(event("withdrawn", "xw1", time: "2026-03-09T10:00:00+01:00", #"referral="\#(tag)-xr1""#, "<reason>BSN 1622.75.869 stond dubbel</reason>"))
            </exchanges>

            """
    }

    /// Client/Naam, a birth date, and a zelfverwijzer whose Verwijzer/Naam is the client's own,
    /// in a product refused for an impossible date: its skeleton goes to the quarantine.
    static func ijw315(_ tag: String) throws -> String {
        var text = try String(contentsOfFile: fixtures + "/ijw-315.xml", encoding: .utf8)
        text = try replacing(text, [
            ("JW315-0001", "P-\(tag)-J315"), ("REF-A", "REF-\(tag)-A"), ("<Bsn>111222333</Bsn>", "<Bsn>\(bsns[4])</Bsn>"),
            ("<b:Achternaam>Bakker</b:Achternaam>", "<b:Achternaam>\(names[3].1)</b:Achternaam>"), ("<b:Voornamen>Sanne</b:Voornamen>", "<b:Voornamen>\(names[3].0)</b:Voornamen>"),
            ("2014-05-17", birthDates[1]),
            ("""
                <ToewijzingIngangsdatum>2026-03-16</ToewijzingIngangsdatum>
                        <Verwijzer>
                          <b:Type>02</b:Type>
                          <b:ZorgverlenerCode>01234567</b:ZorgverlenerCode>
                """, """
                <ToewijzingIngangsdatum>2026-03-16</ToewijzingIngangsdatum>
                        <ToewijzingEinddatum>2027-06-31</ToewijzingEinddatum>
                        <Verwijzer>
                          <b:Type>06</b:Type>
                          <b:Naam>\(names[3].0) \(names[3].1)</b:Naam>
                """),
        ])
        return text
    }

    static func iwmo315(_ tag: String, bsn: String, identificatie: String) throws -> String {
        let text = try String(contentsOfFile: fixtures + "/iwmo-315.xml", encoding: .utf8)
        return try replacing(text, [
            ("WMO315-0001", identificatie), ("REF-W", "REF-\(tag)-W"), ("<Bsn>123456782</Bsn>", "<Bsn>\(bsn)</Bsn>"),
            ("<b:Achternaam>Visser</b:Achternaam>", "<b:Achternaam>\(names[1].1)</b:Achternaam>"), ("<b:Voornamen>Daan</b:Voornamen>", "<b:Voornamen>\(names[1].0)</b:Voornamen>"),
            ("1948-11-02", birthDates[0]),
            ("<b:Type>06</b:Type>", "<b:Type>06</b:Type>\n          <b:Naam>\(names[1].0) \(names[1].1)</b:Naam>"),
        ])
    }

    /// Client/Naam and Contactgegevens/Adres, answering the 315 of the same path.
    static func iwmo301(_ tag: String) throws -> String {
        let text = try String(contentsOfFile: fixtures + "/iwmo-301.xml", encoding: .utf8)
        let number = ["cli": 71, "data": 72, "path": 73, "inbox": 74][tag] ?? 79
        let (street, house, postcode, place) = addresses[3]
        return try replacing(text, [
            ("WMO301-0001", "P-\(tag)-W301"), ("REF-W", "REF-\(tag)-W"), ("<Bsn>123456782</Bsn>", "<Bsn>\(bsns[5])</Bsn>"),
            ("<ToewijzingNummer>7001</ToewijzingNummer>", "<ToewijzingNummer>\(number)01</ToewijzingNummer>"),
            ("<ToewijzingNummer>7002</ToewijzingNummer>", "<ToewijzingNummer>\(number)02</ToewijzingNummer>"),
            ("<b:Achternaam>Visser</b:Achternaam>", "<b:Achternaam>\(names[1].1)</b:Achternaam>"), ("<b:Voornamen>Daan</b:Voornamen>", "<b:Voornamen>\(names[1].0)</b:Voornamen>"),
            ("1948-11-02", birthDates[0]), ("<b:Huisnummer>12</b:Huisnummer>", "<b:Huisnummer>\(house)</b:Huisnummer>"),
            ("<b:Postcode>3011AD</b:Postcode>", "<b:Postcode>\(postcode.replacingOccurrences(of: " ", with: ""))</b:Postcode>"),
            ("<b:Straatnaam>Coolsingel</b:Straatnaam>", "<b:Straatnaam>\(street)</b:Straatnaam>"),
            ("<b:Plaatsnaam>Rotterdam</b:Plaatsnaam>", "<b:Plaatsnaam>\(place)</b:Plaatsnaam>"),
        ])
    }

    struct FixtureChanged: Error { var missing: String }

    /// Replaces every occurrence of each pattern, which must be there: a fixture that changes
    /// under the audit must not quietly leave it without personal data to find.
    static func replacing(_ text: String, _ replacements: [(String, String)]) throws -> String {
        var text = text
        for (old, new) in replacements {
            guard text.contains(old) else { throw FixtureChanged(missing: old) }
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }

    // MARK: Searching

    /// Where a forbidden term was found.
    static func hits(in haystacks: [(label: String, bytes: Data)]) -> [String] {
        var found: [String] = []
        for term in forbidden {
            let needle = Data(term.utf8)
            for haystack in haystacks where haystack.bytes.range(of: needle) != nil {
                found.append("\"\(term)\" in \(haystack.label)")
            }
        }
        return found
    }

    /// Every regular file under `directory`, except `excluded`.
    static func files(under directory: String, excluding excluded: Set<String> = []) throws -> [(label: String, bytes: Data)] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.subpathsOfDirectory(atPath: directory).sorted().compactMap { relative in
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard !excluded.contains(path), FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
            return (path, try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    static func serialised(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("\(object)".utf8)
    }

    // MARK: The audit

    @Test func noPersonalDataLeavesTheIngest() throws {
        let workspace = try Workspace()
        let state = workspace.path + "/state"
        let inbox = workspace.path + "/inbox"
        try """
            version: 1
            paths: { state: \(state), socket: \(workspace.socket), graphs: \(workspace.path)/graphs, inbox: \(inbox) }
            inbox: { pollSeconds: 0.2 }
            graphs: { debounceSeconds: 0.2 }
            """.write(toFile: workspace.config, atomically: true, encoding: .utf8)
        var haystacks: [(label: String, bytes: Data)] = []
        // The search must be able to find what it looks for: every input holds some of it.
        for tag in ["cli", "data", "path", "inbox"] {
            for input in try Self.inputs(tag) {
                #expect(!Self.hits(in: [(input.name, Data(input.text.utf8))]).isEmpty, "\(input.name) holds nothing to look for")
            }
        }

        // 1. The CLI, straight into the state directory, before the daemon holds it.
        let cliDirectory = workspace.path + "/in-cli"
        try FileManager.default.createDirectory(atPath: cliDirectory, withIntermediateDirectories: true)
        var cliFiles: [String] = []
        for input in try Self.inputs("cli") {
            try input.text.write(toFile: cliDirectory + "/" + input.name, atomically: true, encoding: .utf8)
            cliFiles.append(cliDirectory + "/" + input.name)
        }
        let cliOutput = Harness.output(Harness.binary, ["ingest", "--config", workspace.config, "--no-progress"] + cliFiles)
        #expect(cliOutput.contains("audit-cli.ndjson: accepted 6, duplicates 0, pending 0, rejected 4"), "\(cliOutput)")
        haystacks.append(("ketenzicht ingest output", Data(cliOutput.utf8)))

        // 2. The daemon; a subscriber sees every alert notification from here on.
        let daemon = try Daemon(workspace)
        // When a check throws, stop the daemon before the workspace is removed under it.
        defer {
            withExtendedLifetime(workspace) {
                if daemon.process.isRunning {
                    daemon.process.terminate()
                    daemon.process.waitUntilExit()
                }
            }
        }
        let client = try Client(workspace.socket)
        let subscriber = try Client(workspace.socket)
        _ = try subscriber.call("alerts.subscribe")
        var answers: [(label: String, bytes: Data)] = []
        func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
            do {
                let response = try client.request(method, params)
                answers.append(("answer to \(method) \(params.keys.sorted())", Self.serialised(response)))
                return response
            } catch {
                Issue.record("no answer to \(method): \(daemon.logText.suffix(2000))")
                throw error
            }
        }

        for input in try Self.inputs("data") {
            let result = try call("ingest", ["data": input.text, "format": input.format])["result"] as? [String: Any]
            #expect(result != nil, "socket data ingest of \(input.name) failed")
        }
        let pathDirectory = workspace.path + "/in-path"
        try FileManager.default.createDirectory(atPath: pathDirectory, withIntermediateDirectories: true)
        for input in try Self.inputs("path") {
            try input.text.write(toFile: pathDirectory + "/" + input.name, atomically: true, encoding: .utf8)
            let result = try call("ingest", ["path": pathDirectory + "/" + input.name])["result"] as? [String: Any]
            #expect(result != nil, "socket path ingest of \(input.name) failed")
        }

        // 3. The inbox: files written under a dot name and renamed, as writers should.
        var dropped: [String: Data] = [:]
        for input in try Self.inputs("inbox") {
            try input.text.write(toFile: inbox + "/." + input.name, atomically: true, encoding: .utf8)
            try FileManager.default.moveItem(atPath: inbox + "/." + input.name, toPath: inbox + "/" + input.name)
            dropped[input.name] = Data(input.text.utf8)
        }
        var moved: [String: String] = [:]
        try Harness.waitFor("the inbox to take every file") {
            for name in dropped.keys where moved[name] == nil {
                for folder in ["processed", "rejected"] where FileManager.default.fileExists(atPath: "\(inbox)/\(folder)/\(name)") {
                    moved[name] = "\(inbox)/\(folder)/\(name)"
                }
            }
            return moved.count == dropped.count
        }
        // The inbox moves the files as they were delivered; it adds nothing to them.
        for (name, path) in moved { #expect(FileManager.default.contents(atPath: path) == dropped[name], "\(name) changed in the inbox") }
        #expect(moved["audit-inbox.ndjson"]?.contains("/rejected/") == true)
        #expect(FileManager.default.fileExists(atPath: inbox + "/rejected/audit-inbox.ndjson.errors.txt"))

        // 4. Every method, on every case and party, as each access level would call them.
        let asOf = "2026-11-20T00:00:00Z"
        try Harness.waitFor("the alerts after the ingests") {
            ((try call("alerts.list")["result"] as? [String: Any])?["alerts"] as? [Any])?.isEmpty == false
        }
        let key = try Pseudonymizer.loadOrCreateKey(at: state + "/pseudonym.key")
        let pseudonyms = try Self.bsns.map { try key.caseID(forBSN: $0) }
        for (index, pseudonym) in pseudonyms.enumerated() {
            let view = try call("case.get", ["id": pseudonym, "asOf": asOf])
            let referrals = (view["result"] as? [String: Any])?["referrals"] as? [Any] ?? []
            if [0, 1, 4, 5].contains(index) {
                // One case per person, whatever the format and path the events came by.
                #expect(!referrals.isEmpty, "no case for BSN #\(index)")
            } else {
                #expect(view["error"] != nil, "BSN #\(index) was only in refused events, yet has a case")
            }
        }
        #expect(((try call("case.get", ["id": pseudonyms[0], "asOf": asOf])["result"] as? [String: Any])?["referrals"] as? [Any])?.count == 8,
                "the case of BSN #0: its CloudEvents and XML referral from each of the four paths")
        for method in ["version", "health", "stats", "parties", "bottlenecks", "regisseurs", "pingpong", "dropped", "structure", "alerts.list"] {
            #expect(try call(method, ["asOf": asOf])["result"] != nil, "\(method) failed")
        }
        _ = try call("stats", ["format": "prometheus"])
        _ = try call("regisseurs", ["asOf": asOf, "flag": "noRegisseur"])
        let parties = ((try call("parties")["result"] as? [String: Any])?["parties"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(parties.count >= 4)
        for party in parties {
            _ = try call("party.get", ["id": party, "asOf": asOf])
            _ = try call("propagation.whatIf", ["party": party, "extraWaitDays": 28, "asOf": asOf])
        }
        var views: [[String: Any]] = [["view": "network"], ["view": "bottlenecks"]]
        for pseudonym in [pseudonyms[0], pseudonyms[1], pseudonyms[4], pseudonyms[5]] { views.append(["view": "case", "id": pseudonym]) }
        for view in views {
            let files = ((try call("dot.write", view.merging(["asOf": asOf]) { $1 })["result"] as? [String: Any])?["files"] as? [String]) ?? []
            #expect(!files.isEmpty, "dot.write \(view) wrote nothing")
        }
        _ = try call("config.reload")

        // While the daemon runs, its write-ahead log and shared memory hold the latest pages.
        haystacks += try Self.files(under: state)

        // 5. The alert stream, then shutdown.
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(subscriber.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var notifications = 0
        while let line = subscriber.readLine() {
            notifications += 1
            answers.append(("alert notification", Self.serialised(line)))
        }
        #expect(notifications > 0)
        _ = try call("shutdown")
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)

        let quarantine = Harness.output(Harness.binary, ["quarantine", "--state", state, "--raw", "--limit", "1000"])
        #expect(quarantine.components(separatedBy: "\n").filter { $0.contains(": event ") || $0.contains(".ndjson:") }.count >= 16, "\(quarantine)")
        haystacks.append(("ketenzicht quarantine --raw", Data(quarantine.utf8)))

        haystacks += answers
        haystacks += try Self.files(under: state)
        haystacks += try Self.files(under: inbox, excluding: Set(moved.values))
        haystacks += try Self.files(under: workspace.path + "/graphs")
        haystacks.append(("daemon log", Data(daemon.logText.utf8)))
        #expect(haystacks.contains { $0.label.hasSuffix(".svg") } == (Harness.which("dot") != nil))
        #expect(haystacks.contains { $0.label.hasSuffix("events.sqlite") })
        #expect(haystacks.contains { $0.label.hasSuffix(".errors.txt") })

        let leaks = Self.hits(in: haystacks)
        #expect(leaks.isEmpty, "personal data found:\n\(leaks.joined(separator: "\n"))")
    }
}
