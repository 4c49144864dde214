public import KetenzichtCore
import XMLStreaming
import Foundation

/// Decodes iStandaarden iJw / iWmo 3.2 messages (SPEC §2.3; mapping in docs/format-istandaarden.md).
///
/// One file holds one `Bericht`; a directory is read as all the messages in it (sorted by path,
/// subdirectories included, hidden files skipped). Each message is streamed through libxml2 and
/// validated against the XSD of its message type, then mapped product by product onto ordinary
/// events: 315 → referral.created, 301 → accepted, 305 → started, 307 → completed, 319 with
/// VerzoekAntwoord 1 → rejected. Retour and other messages are skipped with a warning note.
///
/// Errors are per product where the fault lies inside one product (a bad date, a missing
/// element), so the other products of the message are kept; anything wrong outside the products
/// (header, client, not well-formed) refuses the whole message. Personal data (BSN, names,
/// addresses, birth dates, contact details) is read past: the BSN becomes the pseudonymous case,
/// nothing else is kept, and no value from a personal element is echoed in an error.
public struct IStandaardenDecoder: EventDecoder, Sendable {
    public var assembler: EventAssembler
    /// Links ToewijzingNummer → referral and holds 305/307 products that arrive before their 301.
    public var links: IStandaardenLinks
    /// Where the XSDs live; nil searches the documented places (see `IStandaardenSchemas`).
    public var schemaDirectory: String?

    public init(assembler: EventAssembler, links: IStandaardenLinks = IStandaardenLinks(), schemaDirectory: String? = nil) {
        self.assembler = assembler
        self.links = links
        self.schemaDirectory = schemaDirectory
    }

    /// The decoder for a state directory: its link table persists there, shared by every decode in
    /// this process.
    public init(assembler: EventAssembler, stateDirectory: String) {
        self.init(assembler: assembler, links: IStandaardenLinks.shared(stateDirectory: stateDirectory))
    }

    public func decode(_ input: IngestInput, progress: DecodeProgress?, sink: (DecodeRecord) -> Void) {
        switch input {
        case .bytes(let bytes, let origin):
            decodeMessage(.bytes(bytes, origin: origin), sink: sink)
            progress?(bytes.count, bytes.count)
        case .file(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                decodeMessage(.file(path), sink: sink)
                return
            }
            let files = Self.messageFiles(in: path)
            let total = files.reduce(0) { $0 + $1.size }
            var done = 0
            for file in files {
                decodeMessage(.file(file.path), sink: sink)
                done += file.size
                progress?(done, total)
            }
        }
    }

    /// Regular files under `directory`, sorted by path, hidden files and directories skipped.
    public static func messageFiles(in directory: String) -> [(path: String, size: Int)] {
        var files: [(path: String, size: Int)] = []
        walk(directory, firstOnly: false) { files.append($0) }
        return files
    }

    /// The first of `messageFiles(in:)`, found without listing the whole tree (format detection).
    public static func firstMessageFile(in directory: String) -> String? {
        var first: String?
        walk(directory, firstOnly: true) { first = $0.path }
        return first
    }

    /// readdir rather than FileManager's enumerator, which is several times slower on a
    /// directory of a hundred thousand messages.
    private static func walk(_ directory: String, firstOnly: Bool, visit: ((path: String, size: Int)) -> Void) {
        var found = false
        func descend(_ path: String) {
            guard let handle = opendir(path) else { return }
            var names: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if !name.hasPrefix(".") { names.append(name) }
            }
            closedir(handle)
            for name in names.sorted() {
                if firstOnly && found { return }
                let child = path.hasSuffix("/") ? path + name : path + "/" + name
                var info = stat()
                guard stat(child, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFREG:
                    visit((child, Int(info.st_size)))
                    found = true
                case S_IFDIR:
                    descend(child)
                default:
                    continue
                }
            }
        }
        descend(directory)
    }

    // MARK: One message

    enum MessageInput {
        case file(String)
        case bytes([UInt8], origin: String)

        var origin: String {
            switch self {
            case .file(let path): path
            case .bytes(_, let origin): origin
            }
        }
    }

    func decodeMessage(_ input: MessageInput, sink: (DecodeRecord) -> Void) {
        let origin = input.origin
        func fail(line: Int? = nil, event: EventIdentity? = nil, field: String? = nil, _ message: String, severity: IngestIssue.Severity = .error) {
            let location = InputLocation(origin: origin, line: line)
            sink(DecodeRecord(location: location, outcome: .failure(IngestIssue(severity: severity, location: location, event: event, field: field, message: message), raw: nil)))
        }
        var input = input
        let prefix: [UInt8]
        switch input {
        case .bytes(let bytes, _): prefix = Array(bytes.prefix(4096))
        case .file(let path):
            guard let start = Self.readStart(path) else {
                fail("cannot read the file")
                return
            }
            // A message is a few kilobytes: read once and parsed from memory, it costs one read
            // instead of the reader's byte-by-byte prolog reads. Anything larger streams.
            if start.complete { input = .bytes(start.bytes, origin: path) }
            prefix = Array(start.bytes.prefix(4096))
        }
        let kind: IStandaardenMessageKind
        do { kind = try IStandaardenMessageKind.identify(prefix: prefix) } catch {
            fail(field: error.field, error.message)
            return
        }
        guard kind.isMapped else {
            fail(field: nil, "skipped: \(kind.name) (\(kind.describe)) is not mapped to events", severity: .warning)
            return
        }
        let schema: XMLSchema
        switch IStandaardenSchemas.schema(for: kind, directory: schemaDirectory) {
        case .success(let compiled): schema = compiled
        case .failure(let problem):
            fail(problem.message)
            return
        }
        let reader: XMLStreamReader
        do {
            switch input {
            case .file(let path): reader = try XMLStreamReader(path: path, schema: schema)
            case .bytes(let bytes, let origin): reader = try XMLStreamReader(bytes: bytes, documentURL: origin, schema: schema)
            }
        } catch {
            fail(error.message)
            return
        }

        // The root, then its children (Header, Client or Antwoord) copied whole: a Bericht is small.
        var children: [XMLElement] = []
        var rootLine: Int?
        reading: while true {
            switch reader.read() {
            case .failed:
                let issue = reader.fatalIssue ?? XMLIssue(kind: .fatal, message: "the document could not be parsed", line: nil)
                fail(line: issue.line, CanonicalXMLDecoder.fatalMessage(issue.message).replacingOccurrences(of: "reading stopped here", with: "message refused"))
                return
            case .endOfDocument:
                break reading
            case .node:
                guard reader.nodeKind == .element else { continue }
                if reader.depth == 0 {
                    rootLine = reader.lineNumber
                    let name = reader.localName ?? ""
                    guard name == "Bericht", reader.namespaceURI == kind.namespace else {
                        fail(line: rootLine, "root element is <\(EventAssembler.clip(name))> in namespace \(reader.namespaceURI ?? "(none)"); expected <Bericht> in \(kind.namespace)")
                        return
                    }
                    continue
                }
                // A nil copy means parsing failed inside it; the next read reports that.
                guard reader.depth == 1, let element = reader.readElement() else { continue }
                children.append(element)
            }
        }
        let rootIssues = reader.takeUnattributedIssues()
        let message = MessageView(kind: kind, children: children, rootIssues: rootIssues, rootLine: rootLine)
        mapMessage(message, origin: origin, sink: sink)
    }

    static let wholeFileLimit = 1 << 20

    /// The file's first bytes, or all of it (`complete`) when it is at most `wholeFileLimit`.
    static func readStart(_ path: String) -> (bytes: [UInt8], complete: Bool)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var filled = 0
        while true {
            if filled == buffer.count {
                guard buffer.count < wholeFileLimit + 1 else { return (buffer, false) }
                buffer += [UInt8](repeating: 0, count: min(buffer.count, wholeFileLimit + 1 - buffer.count))
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return (Array(buffer.prefix(filled)), true) }
            filled += count
        }
    }

    // MARK: Mapping

    struct MessageView {
        var kind: IStandaardenMessageKind
        var children: [XMLElement]
        var rootIssues: [XMLIssue]
        var rootLine: Int?

        func child(_ name: String) -> XMLElement? { children.first { $0.localName == name } }
    }

    /// A fault that refuses the whole message, or one product of it.
    struct Fault: Error {
        var line: Int?
        var field: String?
        var message: String
    }

    func mapMessage(_ message: MessageView, origin: String, sink: (DecodeRecord) -> Void) {
        let kind = message.kind
        let header = message.child("Header")
        let identificatie = header?.path("BerichtIdentificatie", "Identificatie")?.value
        let afzender = header?.child("Afzender")?.value
        let source = afzender.map { "urn:istandaarden:\(kind.standard.rawValue):\($0)" }
        let messageIdentity = EventAssembler.identity(id: identificatie.map(protectingBSNs), source: source)

        func fail(_ fault: Fault, event: EventIdentity?, raw: String? = nil, severity: IngestIssue.Severity = .error) {
            let location = InputLocation(origin: origin, line: fault.line)
            sink(DecodeRecord(location: location, outcome: .failure(IngestIssue(severity: severity, location: location, event: event, field: fault.field, message: fault.message), raw: raw)))
        }

        // Everything wrong outside the products refuses the message.
        let body = message.child(kind.bodyElement)
        let products = body.map { kind.products(in: $0) } ?? []
        var productIssues = [[XMLIssue]](repeating: [], count: products.count)
        var messageFaults: [Fault] = []
        for issue in message.rootIssues {
            messageFaults.append(Fault(line: issue.line, field: nil, message: IStandaardenSchemaMessage.clean(issue.message, elementName: nil)))
        }
        for element in message.children {
            for issue in element.issues {
                if element.localName == kind.bodyElement, let index = Self.product(for: issue.line, products: products) {
                    productIssues[index].append(issue)
                } else {
                    messageFaults.append(Self.fault(for: issue, in: element))
                }
            }
        }
        if header == nil { messageFaults.append(Fault(line: message.rootLine, field: "Header", message: "missing")) }
        if body == nil { messageFaults.append(Fault(line: message.rootLine, field: kind.bodyElement, message: "missing")) }

        var context: MessageContext?
        if messageFaults.isEmpty, let header, let body {
            do { context = try self.context(kind: kind, header: header, body: body, identity: messageIdentity) } catch {
                messageFaults.append(error)
            }
        }
        guard var context, messageFaults.isEmpty else {
            var first = messageFaults.first ?? Fault(line: message.rootLine, field: nil, message: "message refused")
            if messageFaults.count > 1 {
                first.message += " (and \(messageFaults.count - 1) more error\(messageFaults.count == 2 ? "" : "s") in this message)"
            }
            first.message += "; message refused"
            fail(first, event: messageIdentity)
            return
        }

        // Products: each becomes events or one failure.
        var outputs: [ProductOutput] = []
        for (index, product) in products.enumerated() {
            let identity = EventIdentity(source: context.source, id: "\(context.identificatie)/\(index + 1)")
            do throws(Fault) {
                if let issue = productIssues[index].first {
                    var fault = Self.fault(for: issue, in: body!, preferDates: true)
                    if productIssues[index].count > 1 {
                        fault.message += " (and \(productIssues[index].count - 1) more error\(productIssues[index].count == 2 ? "" : "s") in this product)"
                    }
                    throw fault
                }
                try Self.checkDates(in: product, body: body!)
                outputs.append(try mapProduct(product, index: index + 1, identity: identity, context: &context))
            } catch {
                outputs.append(.failure(error, identity: identity, raw: Self.skeleton(product)))
            }
        }
        if kind.number == "319", let antwoord = body {
            let identity = EventIdentity(source: context.source, id: "\(context.identificatie)/1")
            do {
                outputs.append(try mapAntwoord(antwoord, identity: identity, context: context))
            } catch {
                outputs.append(.failure(error, identity: identity, raw: nil))
            }
        }

        // Parties first, so that a config that rejects unknown parties still takes the referrals.
        var registered = Set<String>()
        for output in outputs {
            guard case .events(let events, _) = output else { continue }
            for event in events {
                guard case .referralCreated(let creation) = event.body else { continue }
                for party in [creation.from, creation.to] where registered.insert(party).inserted {
                    if let registration = context.parties[party] {
                        sink(DecodeRecord(location: InputLocation(origin: origin, line: message.rootLine), outcome: .event(partyEvent(registration, context: context))))
                    }
                }
            }
        }
        for output in outputs {
            switch output {
            case .events(let events, let line):
                for event in events { sink(DecodeRecord(location: InputLocation(origin: origin, line: line), outcome: .event(event))) }
            case .note(let fault, let identity):
                fail(fault, event: identity, severity: .warning)
            case .failure(let fault, let identity, let raw):
                fail(fault, event: identity, raw: raw)
            }
        }
    }

    enum ProductOutput {
        case events([Event], line: Int)
        case note(Fault, identity: EventIdentity)
        case failure(Fault, identity: EventIdentity, raw: String?)
    }

    /// What the header and client say, checked once for all products.
    struct MessageContext {
        var kind: IStandaardenMessageKind
        var source: String
        var identificatie: String
        var dagtekening: Timestamp
        var gemeente: String
        var aanbieder: String
        var caseID: String?
        /// Parties the products may name, by id.
        var parties: [String: PartyRegistration] = [:]

        var standard: IStandaardenStandard { kind.standard }
        var gemeenteTeam: String { "gemeente-\(gemeente)-\(standard.domain)" }
        var aanbiederParty: String { "agb-\(aanbieder)-\(standard.domain)" }

        func linkKey(_ nummer: String) -> String { "\(standard.rawValue)|\(gemeente)|\(aanbieder)|\(nummer)" }
        func referral(reference: String) -> String { "\(standard.rawValue)-\(gemeente)-\(aanbieder)-ref-\(reference)" }
        func referral(toewijzing: String) -> String { "\(standard.rawValue)-\(gemeente)-\(aanbieder)-tw-\(toewijzing)" }
    }

    func context(kind: IStandaardenMessageKind, header: XMLElement, body: XMLElement, identity: EventIdentity?) throws(Fault) -> MessageContext {
        func required(_ element: XMLElement?, _ field: String) throws(Fault) -> String {
            guard let value = element?.value, !value.isEmpty else { throw Fault(line: header.line, field: field, message: "missing") }
            return value
        }
        let afzender = try required(header.child("Afzender"), "Header/Afzender")
        let ontvanger = try required(header.child("Ontvanger"), "Header/Ontvanger")
        let identificatie = protectingBSNs(try required(header.path("BerichtIdentificatie", "Identificatie"), "Header/BerichtIdentificatie/Identificatie"))
        _ = try EventAssembler.identifierOrFault(identificatie, field: "Header/BerichtIdentificatie/Identificatie", line: header.line)
        let dagElement = header.path("BerichtIdentificatie", "Dagtekening")
        let dagtekening = try Self.date(dagElement, field: "Header/BerichtIdentificatie/Dagtekening", fallbackLine: header.line)
        let (gemeente, aanbieder) = kind.sentByGemeente ? (afzender, ontvanger) : (ontvanger, afzender)
        var context = MessageContext(
            kind: kind, source: "urn:istandaarden:\(kind.standard.rawValue):\(afzender)", identificatie: identificatie,
            dagtekening: dagtekening, gemeente: gemeente, aanbieder: aanbieder)
        if kind.carriesClient {
            guard let bsnElement = body.child("Bsn") else { throw Fault(line: body.line, field: "Client/Bsn", message: "missing") }
            do { context.caseID = try assembler.pseudonymizer.caseID(forBSN: bsnElement.value, field: "Client/Bsn") } catch {
                throw Fault(line: bsnElement.line, field: error.field, message: error.message)
            }
        }
        let domain = kind.standard.domain
        context.parties[context.gemeenteTeam] = PartyRegistration(party: context.gemeenteTeam, name: "Gemeente \(gemeente) \(kind.standard.teamName)", domain: domain)
        context.parties[context.aanbiederParty] = PartyRegistration(party: context.aanbiederParty, name: "Aanbieder AGB \(aanbieder) (\(domain))", domain: domain)
        return context
    }

    /// Verwijzer parties the product names are added to `context.parties`.
    func mapProduct(_ product: XMLElement, index: Int, identity: EventIdentity, context: inout MessageContext) throws(Fault) -> ProductOutput {
        let path = "\(context.kind.bodyElement)/\(context.kind.productsElement)/\(context.kind.productElement)[\(index)]"
        func value(_ name: String) -> String? {
            guard let text = product.child(name)?.value, !text.isEmpty else { return nil }
            return text
        }
        func required(_ name: String) throws(Fault) -> String {
            guard let text = value(name) else { throw Fault(line: product.line, field: "\(path)/\(name)", message: "missing") }
            return text
        }
        func date(_ name: String) throws(Fault) -> Timestamp {
            try Self.date(product.child(name), field: "\(path)/\(name)", fallbackLine: product.line)
        }
        func nummer() throws(Fault) -> String {
            guard let text = value("ToewijzingNummer") else {
                throw Fault(line: product.line, field: "\(path)/ToewijzingNummer", message: "missing: without it this product cannot be linked to its toewijzing (301)")
            }
            guard let number = UInt64(text), number <= 999_999_999 else {
                throw Fault(line: product.line, field: "\(path)/ToewijzingNummer", message: "not a number of at most 9 digits")
            }
            return protectingBSNs(String(number))
        }
        switch context.kind.number {
        case "315":
            let reference = protectingBSNs(try required("ReferentieAanbieder"))
            guard let verwijzer = product.child("Verwijzer") else { throw Fault(line: product.line, field: "\(path)/Verwijzer", message: "missing") }
            let from = try verwijzerParty(verwijzer, field: "\(path)/Verwijzer", context: &context)
            guard let caseID = context.caseID else { throw Fault(line: product.line, field: "Client/Bsn", message: "missing") }
            let creation = ReferralCreation(referral: context.referral(reference: reference), caseID: caseID, from: from, to: context.aanbiederParty)
            return .events([Event(identity: identity, time: context.dagtekening, body: .referralCreated(creation))], line: product.line)
        case "301":
            let nummer = try nummer()
            let accepted = try date("Toewijzingsdatum")
            var events: [Event] = []
            let reference = value("ReferentieAanbieder").map(protectingBSNs)
            if let change = value("RedenWijziging") {
                // A changed toewijzing re-sends one already given: accepting again would be refused.
                let referral = reference.map(context.referral(reference:)) ?? context.referral(toewijzing: nummer)
                let released = links.link(context.linkKey(nummer), to: referral).map { $0.event(referral: referral) }
                if !released.isEmpty { return .events(released, line: product.line) }
                return .note(Fault(line: product.line, field: "\(path)/RedenWijziging", message: "skipped: a changed toewijzing (RedenWijziging \(change)) changes no referral status"), identity: identity)
            }
            let referral: String
            if let reference {
                referral = context.referral(reference: reference)
            } else {
                // No 315 to answer: the gemeente itself referred the client to the aanbieder.
                referral = context.referral(toewijzing: nummer)
                guard let caseID = context.caseID else { throw Fault(line: product.line, field: "Client/Bsn", message: "missing") }
                let creation = ReferralCreation(referral: referral, caseID: caseID, from: context.gemeenteTeam, to: context.aanbiederParty)
                events.append(Event(identity: EventIdentity(source: identity.source, id: identity.id + "/created"), time: accepted, body: .referralCreated(creation)))
            }
            events.append(Event(identity: identity, time: accepted, body: .referralStatus(ReferralStatusChange(referral: referral, step: .accepted))))
            for held in links.link(context.linkKey(nummer), to: referral) {
                events.append(held.event(referral: referral))
            }
            return .events(events, line: product.line)
        case "305", "307":
            let nummer = try nummer()
            let held: IStandaardenLinks.HeldStatus
            if context.kind.number == "305" {
                held = IStandaardenLinks.HeldStatus(identity: identity, time: try date("Begindatum"), step: .started, note: nil)
            } else {
                let reden = try required("RedenBeeindiging")
                _ = try date("Begindatum")
                held = IStandaardenLinks.HeldStatus(identity: identity, time: try date("Einddatum"), step: .completed, note: context.standard.redenBeeindiging(reden))
            }
            if let referral = links.referral(for: context.linkKey(nummer), holding: held) {
                return .events([held.event(referral: referral)], line: product.line)
            }
            return .note(Fault(line: product.line, field: "\(path)/ToewijzingNummer", message: "no toewijzing (301) with ToewijzingNummer \(nummer) from gemeente \(context.gemeente) to aanbieder \(context.aanbieder) yet: this \(held.step == .started ? "start" : "stop") is held and applied when the 301 arrives"), identity: identity)
        default:
            throw Fault(line: product.line, field: nil, message: "internal error: \(context.kind.name) has no product mapping")
        }
    }

    func mapAntwoord(_ antwoord: XMLElement, identity: EventIdentity, context: MessageContext) throws(Fault) -> ProductOutput {
        guard let reference = antwoord.child("ReferentieAanbieder")?.value, !reference.isEmpty else {
            throw Fault(line: antwoord.line, field: "Antwoord/ReferentieAanbieder", message: "missing")
        }
        let answer = antwoord.child("VerzoekAntwoord")?.value ?? ""
        switch answer {
        case "1":
            let reason = antwoord.child("RedenAfwijzingVerzoek").map { IStandaardenStandard.redenAfwijzing($0.value) }
            let change = ReferralStatusChange(referral: context.referral(reference: protectingBSNs(reference)), step: .rejected, note: reason)
            return .events([Event(identity: identity, time: context.dagtekening, body: .referralStatus(change))], line: antwoord.line)
        case "2":
            return .note(Fault(line: antwoord.line, field: "Antwoord/VerzoekAntwoord", message: "skipped: VerzoekAntwoord 2 (aanvraag in onderzoek) changes no referral status"), identity: identity)
        default:
            throw Fault(line: antwoord.line, field: "Antwoord/VerzoekAntwoord", message: "must be 1 (afgewezen) or 2 (in onderzoek)")
        }
    }

    /// The verwijzer as a party (registered in `context.parties`): the gemeente's own team for
    /// type 01, else one party per type and AGB code, or per type and name.
    func verwijzerParty(_ verwijzer: XMLElement, field: String, context: inout MessageContext) throws(Fault) -> String {
        let type = verwijzer.child("Type")?.value ?? ""
        guard let spec = IStandaardenStandard.verwijzerTypes[type] else {
            throw Fault(line: verwijzer.line, field: field + "/Type", message: "unknown verwijzer type; expected one of \(IStandaardenStandard.verwijzerTypes.keys.sorted().joined(separator: ", "))")
        }
        if type == "01" { return context.gemeenteTeam }
        if type == "06" {
            // A zelfverwijzer's Naam would be the client's own: never read.
            context.parties["zelfverwijzer"] = PartyRegistration(party: "zelfverwijzer", name: "Zelfverwijzer (geen verwijzer)", domain: "overig", regieEligible: false)
            return "zelfverwijzer"
        }
        let code = verwijzer.child("ZorgverlenerCode")?.value.nilIfEmpty
        let name = verwijzer.child("Naam")?.value.nilIfEmpty
        let id: String
        if let code {
            id = "\(spec.slug)-agb-\(code)"
        } else if let name, !Self.slug(name).isEmpty {
            id = "\(spec.slug)-\(Self.slug(name))"
        } else {
            id = "\(spec.slug)-onbekend"
        }
        let display = name ?? (code.map { "\(spec.label) AGB \($0)" } ?? "\(spec.label) (onbekend)")
        context.parties[id] = PartyRegistration(party: id, name: String(display.prefix(EventAssembler.maxTextLength)), domain: spec.domain, regieEligible: spec.regieEligible)
        return id
    }

    /// Registrations are re-sent once per sender and month (at the first of the month), so a
    /// hundred thousand messages do not become a hundred thousand registrations; a later
    /// registration from elsewhere (a CloudEvent with a proper name) overrides them.
    func partyEvent(_ registration: PartyRegistration, context: MessageContext) -> Event {
        let (year, month, _) = civil(context.dagtekening)
        let monthStart = (try? amsterdamMidnight(year: year, month: month, day: 1)) ?? context.dagtekening
        let label = "\(year)-\(month < 10 ? "0" : "")\(month)"
        return Event(identity: EventIdentity(source: context.source, id: "party/\(registration.party)/\(label)"), time: monthStart, body: .partyRegistered(registration))
    }

    /// Lower-case ASCII letters and digits, runs of anything else as one dash, at most 48 bytes.
    static func slug(_ text: String) -> String {
        var out = ""
        var dash = false
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let isDigit = (0x30...0x39).contains(value), isLower = (0x61...0x7a).contains(value), isUpper = (0x41...0x5a).contains(value)
            if isDigit || isLower || isUpper {
                if dash, !out.isEmpty { out += "-" }
                dash = false
                out.unicodeScalars.append(Unicode.Scalar(UInt8(isUpper ? value + 0x20 : value)))
                if out.utf8.count >= 48 { break }
            } else {
                dash = true
            }
        }
        return out
    }

    // MARK: Dates

    /// A date element at start of day Europe/Amsterdam.
    static func date(_ element: XMLElement?, field: String, fallbackLine: Int) throws(Fault) -> Timestamp {
        guard let element, !element.value.isEmpty else { throw Fault(line: fallbackLine, field: field, message: "missing") }
        let text = element.value
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else {
            throw Fault(line: element.line, field: field, message: "not a date (expected YYYY-MM-DD, got \"\(EventAssembler.clip(text))\")")
        }
        do { return try amsterdamMidnight(year: year, month: month, day: day) } catch {
            throw Fault(line: element.line, field: field, message: "\(error)")
        }
    }

    /// Every date in a product is checked, also those no event uses, so that an impossible date
    /// names its own element rather than being hidden behind a schema type error.
    static func checkDates(in product: XMLElement, body: XMLElement) throws(Fault) {
        for child in product.children where child.localName.lowercased().hasSuffix("datum") {
            _ = try date(child, field: body.pathTo(child) ?? child.localName, fallbackLine: child.line)
        }
    }

    /// Which product an issue raised at `line` belongs to; nil when it lies outside every product
    /// or several products begin on that line (a message written on one line).
    static func product(for line: Int?, products: [XMLElement]) -> Int? {
        guard let line, let index = products.lastIndex(where: { $0.line <= line }) else { return nil }
        if index > 0, products[index - 1].line == products[index].line { return nil }
        return index
    }

    static func fault(for issue: XMLIssue, in element: XMLElement, preferDates: Bool = false) -> Fault {
        let named = IStandaardenSchemaMessage.elementName(in: issue.message)
        var target: XMLElement?
        if let named { target = element.find(localName: named, line: issue.line) }
        if preferDates, let target, target.localName.lowercased().hasSuffix("datum") {
            do { _ = try date(target, field: element.pathTo(target) ?? target.localName, fallbackLine: target.line) } catch { return error }
        }
        let field = target.flatMap { element.pathTo($0) } ?? named
        return Fault(line: issue.line, field: field, message: IStandaardenSchemaMessage.clean(issue.message, elementName: named))
    }

    /// The product without free text, for the quarantine: codes, numbers and dates only. A
    /// verwijzer's `Naam` goes too: for a zelfverwijzer (type 06) it is the client's own name.
    static func skeleton(_ product: XMLElement) -> String {
        func strip(_ element: XMLElement) -> XMLElement {
            var copy = element
            copy.issues = []
            if copy.value.isEmpty { copy.text = "" }
            copy.children = copy.children.filter { $0.localName != "Commentaar" && $0.localName != "Naam" }.map(strip)
            return copy
        }
        return strip(product).xml
    }
}

// MARK: - Message kinds

public enum IStandaardenStandard: String, Sendable {
    case ijw, iwmo

    var domain: String { self == .ijw ? "jeugd" : "wmo" }
    var teamName: String { self == .ijw ? "jeugdteam" : "Wmo-team" }
    var messagePrefix: String { self == .ijw ? "jw" : "wmo" }

    struct VerwijzerType {
        var slug: String
        var label: String
        var domain: String
        var regieEligible: Bool?
    }

    /// LDT_TypeVerwijzer (the same in iJw and iWmo 3.2). 01 and 06 are handled apart.
    static let verwijzerTypes: [String: VerwijzerType] = [
        "01": VerwijzerType(slug: "gemeente", label: "Gemeente", domain: "overig"),
        "02": VerwijzerType(slug: "huisarts", label: "Huisarts", domain: "huisarts"),
        "03": VerwijzerType(slug: "jeugdarts", label: "Jeugdarts", domain: "jeugd", regieEligible: false),
        "04": VerwijzerType(slug: "gi", label: "Gecertificeerde instelling", domain: "jeugd"),
        "05": VerwijzerType(slug: "medisch-specialist", label: "Medisch specialist", domain: "overig", regieEligible: false),
        "06": VerwijzerType(slug: "zelfverwijzer", label: "Zelfverwijzer", domain: "overig", regieEligible: false),
        "08": VerwijzerType(slug: "rechter", label: "Rechter / OvJ / JJI", domain: "overig", regieEligible: false),
    ]

    /// LDT_RedenBeeindiging, whose codes differ between iJw and iWmo.
    func redenBeeindiging(_ code: String) -> String {
        let table: [String: String] = self == .ijw ? [
            "02": "overlijden", "20": "levering tijdelijk beëindigd", "31": "levering volgens plan beëindigd",
            "32": "voortijdig afgesloten: eenzijdig door de cliënt", "33": "voortijdig afgesloten: eenzijdig door de aanbieder",
            "34": "voortijdig afgesloten: in overeenstemming", "35": "voortijdig afgesloten: wegens externe omstandigheden",
            "36": "geïnitieerd door de gemeente", "37": "in verband met wijzigingsverzoek",
            "38": "overstap naar andere aanbieder", "39": "uitstroom naar ander domein",
        ] : [
            "02": "overlijden", "19": "levering volgens plan beëindigd", "20": "levering tijdelijk beëindigd",
            "21": "levering eenzijdig door cliënt beëindigd", "22": "levering eenzijdig door aanbieder beëindigd",
            "23": "levering in overeenstemming voortijdig beëindigd", "31": "verhuizing naar een andere gemeente",
            "36": "geïnitieerd door de gemeente", "37": "in verband met wijzigingsverzoek",
            "38": "overstap naar andere aanbieder", "39": "uitstroom naar ander domein",
        ]
        return "RedenBeeindiging \(code)" + (table[code].map { ": \($0)" } ?? "")
    }

    /// LDT_RedenAfwijzingVerzoek (the same in iJw and iWmo 3.2).
    static func redenAfwijzing(_ code: String) -> String {
        let table = [
            "1": "geen wijziging, maar nieuwe aanvraag", "2": "past niet binnen budget", "3": "geen contract",
            "4": "past niet binnen contract", "5": "andere gemeente", "6": "stapeling",
            "7": "zorginhoudelijke afkeur", "8": "woonplaatsbeginsel", "9": "leeftijdsgrens is bereikt",
        ]
        return "RedenAfwijzingVerzoek \(code)" + (table[code].map { ": \($0)" } ?? "")
    }
}

/// Which message a document is, from the namespace of its root (read from the first bytes, so
/// the right XSD can be plugged in before parsing starts).
public struct IStandaardenMessageKind: Sendable, Equatable {
    public var standard: IStandaardenStandard
    /// "315", "301", …
    public var number: String

    static let mapped: Set<String> = ["301", "305", "307", "315", "319"]

    var isMapped: Bool { Self.mapped.contains(number) }
    var namespace: String { "http://www.istandaarden.nl/\(standard.rawValue)/3_2/\(standard.messagePrefix)\(number)/schema" }
    var name: String { standard.messagePrefix.uppercased() + number }
    var schemaFile: String { "\(standard.rawValue)-3.2/\(name).xsd" }
    /// 301 and 319 go from the gemeente to the aanbieder; the others the other way.
    var sentByGemeente: Bool { number == "301" || number == "319" }
    var carriesClient: Bool { number != "319" }
    var bodyElement: String { number == "319" ? "Antwoord" : "Client" }
    var productsElement: String {
        switch number {
        case "315": "AangevraagdeProducten"
        case "301": "ToegewezenProducten"
        case "305": "StartProducten"
        case "307": "StopProducten"
        default: ""
        }
    }
    var productElement: String {
        switch number {
        case "315": "AangevraagdProduct"
        case "301": "ToegewezenProduct"
        case "305": "StartProduct"
        case "307": "StopProduct"
        default: ""
        }
    }

    func products(in body: XMLElement) -> [XMLElement] {
        guard !productsElement.isEmpty, let container = body.child(productsElement) else { return [] }
        return container.children.filter { $0.localName == productElement }
    }

    var describe: String {
        switch number {
        case "302", "306", "308", "316", "318", "320": "a retour message"
        case "317": "a verzoek om wijziging"
        case "323": "a declaratie"
        case "325": "a declaratie-antwoord"
        default: "not one of 301, 305, 307, 315, 319"
        }
    }

    static func identify(prefix: some Collection<UInt8>) throws(FieldProblem) -> IStandaardenMessageKind {
        let text = String(decoding: prefix, as: UTF8.self)
        var rest = Substring(text)
        var other: String?
        while let range = rest.firstRange(of: "http://www.istandaarden.nl/") {
            rest = rest[range.upperBound...]
            let parts = rest.prefix { $0 != "\"" && $0 != "'" && $0 != "<" && $0 != ">" }.split(separator: "/")
            guard parts.count >= 3, let standard = IStandaardenStandard(rawValue: String(parts[0])) else { continue }
            let message = parts[2]
            guard message != "basisschema" else { continue }
            guard parts[1] == "3_2" else {
                other = "\(parts[0]) release \(parts[1].replacingOccurrences(of: "_", with: "."))"
                continue
            }
            guard message.hasPrefix(standard.messagePrefix), case let number = message.dropFirst(standard.messagePrefix.count),
                  number.count == 3, number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber) else { continue }
            return IStandaardenMessageKind(standard: standard, number: String(number))
        }
        if let other { throw FieldProblem(field: nil, "\(other) is not supported; this build reads iJw and iWmo 3.2") }
        throw FieldProblem(field: nil, "not an iStandaarden 3.2 message: no namespace http://www.istandaarden.nl/ijw/3_2/jwNNN/schema or …/iwmo/3_2/wmoNNN/schema in the first 4 KiB")
    }
}

// MARK: - Schemas

/// Finds and compiles the iStandaarden XSDs, each once per process.
///
/// The XSDs import `basisschema.xsd` from their own directory, so they are compiled from files.
/// The directory is the first of: the decoder's `schemaDirectory`, the environment variable
/// `KETENZICHT_ISTANDAARDEN_SCHEMAS`, `config/schema/istandaarden` two or three levels above the
/// executable (a `.build/<config>` or `.build/<triple>/<config>` binary in a checkout),
/// `../share/ketenzicht/schema/istandaarden` beside an installed `bin/`, the current
/// directory's `config/schema/istandaarden`, `/etc/ketenzicht/schema/istandaarden` and
/// `/usr/share/ketenzicht/schema/istandaarden`.
public enum IStandaardenSchemas {
    public static let environmentVariable = "KETENZICHT_ISTANDAARDEN_SCHEMAS"

    private static let cache = SchemaCache()

    public static func candidateDirectories(explicit: String?) -> [String] {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let fromEnvironment = ProcessInfo.processInfo.environment[environmentVariable], !fromEnvironment.isEmpty {
            candidates.append(fromEnvironment)
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Bundle.main.executablePath
        if let executable {
            let binDirectory = URL(fileURLWithPath: executable).deletingLastPathComponent().path
            candidates.append(binDirectory + "/../../config/schema/istandaarden")
            candidates.append(binDirectory + "/../../../config/schema/istandaarden")
            candidates.append(binDirectory + "/../share/ketenzicht/schema/istandaarden")
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/config/schema/istandaarden")
        candidates.append("/etc/ketenzicht/schema/istandaarden")
        candidates.append("/usr/share/ketenzicht/schema/istandaarden")
        return candidates
    }

    static func directory(explicit: String?) -> String? {
        guard let explicit else { return defaultDirectory }
        return search(explicit: explicit)
    }

    /// Searched once: a directory of a hundred thousand messages asks for every one.
    private static let defaultDirectory: String? = search(explicit: nil)

    private static func search(explicit: String?) -> String? {
        candidateDirectories(explicit: explicit)
            .first { FileManager.default.fileExists(atPath: $0 + "/ijw-3.2/basisschema.xsd") }
            .map { URL(fileURLWithPath: $0).standardized.path }
    }

    static func schema(for kind: IStandaardenMessageKind, directory explicit: String?) -> Result<XMLSchema, FieldProblem> {
        guard let directory = directory(explicit: explicit) else {
            return .failure(FieldProblem(field: nil, "the iStandaarden 3.2 schemas were not found; install config/schema/istandaarden beside the executable or set \(environmentVariable) to that directory"))
        }
        let path = directory + "/" + kind.schemaFile
        return cache.schema(at: path)
    }

    private final class SchemaCache: @unchecked Sendable {
        private let lock = NSLock()
        private var compiled: [String: Result<XMLSchema, FieldProblem>] = [:]

        func schema(at path: String) -> Result<XMLSchema, FieldProblem> {
            lock.lock()
            defer { lock.unlock() }
            if let known = compiled[path] { return known }
            let result: Result<XMLSchema, FieldProblem>
            do { result = .success(try XMLSchema(contentsOfFile: path)) } catch {
                result = .failure(FieldProblem(field: nil, "internal error: iStandaarden schema does not compile: \(error.message)"))
            }
            compiled[path] = result
            return result
        }
    }
}

// MARK: - Links

/// The link a 301 makes between a ToewijzingNummer and its referral, and the 305/307 products
/// that came before their 301 (held, then applied when it arrives, so arrival order does not
/// matter). Persisted as an append-only file in the state directory; holds no personal data.
public struct IStandaardenLinksError: Error, CustomStringConvertible {
    public var description: String
}

public final class IStandaardenLinks: @unchecked Sendable {
    public struct HeldStatus: Sendable, Equatable {
        public var identity: EventIdentity
        public var time: Timestamp
        public var step: ReferralStep
        public var note: String?

        func event(referral: String) -> Event {
            Event(identity: identity, time: time, body: .referralStatus(ReferralStatusChange(referral: referral, step: step, note: note)))
        }
    }

    public static let fileName = "istandaarden-links.tsv"

    private let lock = NSLock()
    private var links: [String: String] = [:]
    /// Kept after release: a 301 ingested again re-emits them, which the store counts as duplicates.
    private var held: [String: [HeldStatus]] = [:]
    private let path: String?

    /// In memory only (tests, one-off decodes).
    public init() { path = nil }

    public init(directory: String) {
        path = directory + "/" + Self.fileName
        load()
    }

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: IStandaardenLinks] = [:]

    /// One table per state directory and process, shared by every decoder made for it.
    public static func shared(stateDirectory: String) -> IStandaardenLinks {
        let key = URL(fileURLWithPath: stateDirectory).standardized.path
        registryLock.lock()
        defer { registryLock.unlock() }
        if let known = registry[key] { return known }
        let links = IStandaardenLinks(directory: key)
        registry[key] = links
        return links
    }

    /// Records (the first) link for `key` and returns the statuses held for it.
    func link(_ key: String, to referral: String) -> [HeldStatus] {
        lock.lock()
        defer { lock.unlock() }
        if links[key] == nil {
            links[key] = referral
            append(["L", key, referral])
        }
        return held[key] ?? []
    }

    /// The referral for `key`, or nil after holding `status` until the link arrives.
    func referral(for key: String, holding status: HeldStatus) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if let referral = links[key] { return referral }
        if !(held[key] ?? []).contains(where: { $0.identity == status.identity }) {
            held[key, default: []].append(status)
            append(["H", key, status.identity.source, status.identity.id, String(status.time.millisecondsSinceEpoch), status.step.rawValue, status.note ?? ""])
        }
        return nil
    }

    public var linkCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return links.count
    }

    private func append(_ fields: [String]) {
        guard let path else { return }
        let line = fields.map(Self.escape).joined(separator: "\t") + "\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        unsynced = true
    }

    /// Set by `append`, cleared by `sync`: whether the file holds lines not yet on disk.
    private var unsynced = false

    /// Forces the lines appended so far to disk. The ledger calls it before it acknowledges an
    /// ingest: a held status lives only in this file until its 301 arrives, so it must survive a
    /// power loss as the events in the store do.
    public func sync() throws {
        lock.lock()
        defer { lock.unlock() }
        guard unsynced, let path else { return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw IStandaardenLinksError(description: "\(path): cannot sync the iStandaarden links: \(reason)")
        }
        close(fd)
        unsynced = false
    }

    private func load() {
        guard let path, let data = FileManager.default.contents(atPath: path) else { return }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { Self.unescape(String($0)) }
            switch fields.first {
            case "L" where fields.count == 3:
                if links[fields[1]] == nil { links[fields[1]] = fields[2] }
            case "H" where fields.count == 7:
                guard let millis = Int64(fields[4]), let step = ReferralStep(rawValue: fields[5]) else { continue }
                let status = HeldStatus(identity: EventIdentity(source: fields[2], id: fields[3]), time: Timestamp(millisecondsSinceEpoch: millis), step: step, note: fields[6].isEmpty ? nil : fields[6])
                if !(held[fields[1]] ?? []).contains(where: { $0.identity == status.identity }) { held[fields[1], default: []].append(status) }
            default:
                // A line cut short by a crash: what it recorded is re-learnt when its message comes again.
                continue
            }
        }
    }

    static func escape(_ text: String) -> String {
        guard text.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\\" || $0 == "\r" }) else { return text }
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.append(character)
            }
        }
        return out
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var escaped = false
        for character in text {
            if escaped {
                switch character {
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                default: out.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}

// MARK: - Schema messages

/// libxml2's schema messages, shortened and stripped of anything personal: a value is only
/// echoed for elements that hold codes, numbers or dates.
enum IStandaardenSchemaMessage {
    static let echoable: Set<String> = [
        "BerichtCode", "BerichtVersie", "BerichtSubversie", "Afzender", "Ontvanger", "Identificatie", "Dagtekening",
        "BasisschemaXsdVersie", "BerichtXsdVersie", "ReferentieAanbieder", "ToewijzingNummer", "BeschikkingNummer",
        "Categorie", "Code", "ToewijzingIngangsdatum", "ToewijzingEinddatum", "BeschikkingIngangsdatum", "Toewijzingsdatum",
        "Toewijzingstijd", "Ingangsdatum", "Einddatum", "Begindatum", "RedenBeeindiging", "RedenWijziging",
        "StatusAanlevering", "VerzoekAntwoord", "RedenAfwijzingVerzoek", "Type", "ZorgverlenerCode", "Raamcontract",
        "Volume", "Eenheid", "Frequentie", "Budget",
    ]

    /// `Element '{ns}Name': …` → `Name`.
    static func elementName(in message: String) -> String? {
        guard message.hasPrefix("Element '"), let end = message.dropFirst(9).firstIndex(of: "'") else { return nil }
        let qualified = message[message.index(message.startIndex, offsetBy: 9)..<end]
        return String(qualified.split(separator: "}").last ?? qualified)
    }

    static func clean(_ raw: String, elementName: String?) -> String {
        var message = raw
        if message.hasPrefix("Element '"), let end = message.dropFirst(9).firstIndex(of: "'") {
            message = String(message[message.index(after: end)...])
            if message.hasPrefix(": ") { message.removeFirst(2) }
        }
        message = withoutNamespaces(message)
        if message.hasPrefix("[facet '"), let close = message.firstIndex(of: "]") {
            message = String(message[message.index(after: close)...]).trimmingCharacters(in: .whitespaces)
        }
        while message.hasSuffix(".") || message.hasSuffix(" ") { message.removeLast() }
        if elementName == "Bsn" {
            message = "a BSN is 9 digits (the value is not repeated here)"
        } else if !(elementName.map(echoable.contains) ?? false) {
            message = withoutQuotedValues(message)
        }
        if let first = message.first, first.isUppercase, message.dropFirst().first?.isLowercase == true {
            message = first.lowercased() + message.dropFirst()
        }
        return SchemaMessage.redactDigits(message)
    }

    static func withoutNamespaces(_ text: String) -> String {
        var out = ""
        var inNamespace = false
        for character in text {
            if character == "{" { inNamespace = true; continue }
            if inNamespace { if character == "}" { inNamespace = false }; continue }
            out.append(character)
        }
        return out
    }

    /// `The value 'Jansen…' has a length of …` → `The value (not shown) has a length of …`.
    static func withoutQuotedValues(_ text: String) -> String {
        var out = ""
        var quoted = false
        for character in text {
            if character == "'" {
                if !quoted { out += "(not shown)" }
                quoted.toggle()
                continue
            }
            if !quoted { out.append(character) }
        }
        return out
    }
}

// MARK: - Helpers

extension EventAssembler {
    static func identifierOrFault(_ value: String, field: String, line: Int) throws(IStandaardenDecoder.Fault) -> String {
        do { return try identifier(value, field: field) } catch {
            throw IStandaardenDecoder.Fault(line: line, field: error.field, message: error.message)
        }
    }
}

extension XMLElement {
    /// Direct text, trimmed of XML whitespace.
    var value: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[first...last])
    }

    func child(_ name: String) -> XMLElement? { children.first { $0.localName == name } }

    func path(_ names: String...) -> XMLElement? {
        var current: XMLElement? = self
        for name in names { current = current?.child(name) }
        return current
    }

    /// The element with this name that starts on `line`; else the last one starting before it
    /// (libxml2 reports a missing child at the end tag, lines after the start); else the first.
    func find(localName: String, line: Int?) -> XMLElement? {
        var firstByName: XMLElement?
        var lastBefore: XMLElement?
        var stack = [self]
        while !stack.isEmpty {
            let element = stack.removeFirst()
            if element.localName == localName {
                if line == nil || element.line == line { return element }
                if firstByName == nil { firstByName = element }
                if let line, element.line < line { lastBefore = element }
            }
            stack.insert(contentsOf: element.children, at: 0)
        }
        return lastBefore ?? firstByName
    }

    /// `Client/StopProducten/StopProduct[2]/Einddatum`: the path from this element down to
    /// `target` (matched by name and line), with an index where siblings share a name.
    func pathTo(_ target: XMLElement) -> String? {
        func walk(_ element: XMLElement, _ prefix: String) -> String? {
            if element.localName == target.localName, element.line == target.line, element.children.count == target.children.count {
                return prefix
            }
            var seen: [String: Int] = [:]
            for child in element.children {
                seen[child.localName, default: 0] += 1
                let siblings = element.children.lazy.filter { $0.localName == child.localName }.count
                let step = siblings > 1 ? "\(child.localName)[\(seen[child.localName]!)]" : child.localName
                if let found = walk(child, prefix + "/" + step) { return found }
            }
            return nil
        }
        return walk(self, localName)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension IStandaardenDecoder {
    func protectingBSNs(_ text: String) -> String {
        KetenzichtIngest.protectingBSNs(text, with: assembler.pseudonymizer)
    }
}

/// Runs of exactly nine digits that pass the elfproef could be a BSN a sender used as its own
/// reference; they never reach an id in clear, nor as an unkeyed hash, which anyone could reverse
/// by hashing the hundred million candidates: as `bsn-` and the keyed digest of a pseudonym.
func protectingBSNs(_ text: String, with pseudonymizer: Pseudonymizer) -> String {
    let bytes = Array(text.utf8)
    guard bytes.count >= 9 else { return text }
    var out = ""
    var index = 0
    var changed = false
    while index < bytes.count {
        if bytes[index] >= 0x30, bytes[index] <= 0x39 {
            var end = index
            while end < bytes.count, bytes[end] >= 0x30, bytes[end] <= 0x39 { end += 1 }
            let run = String(decoding: bytes[index..<end], as: UTF8.self)
            if end - index == 9, Pseudonymizer.passesElfproef(run) {
                out += "bsn-" + pseudonymizer.keyedDigest(of: run)
                changed = true
            } else {
                out += run
            }
            index = end
        } else {
            var end = index
            while end < bytes.count, !(bytes[end] >= 0x30 && bytes[end] <= 0x39) { end += 1 }
            out += String(decoding: bytes[index..<end], as: UTF8.self)
            index = end
        }
    }
    return changed ? out : text
}

// MARK: - Calendar

/// Midnight Europe/Amsterdam: CET (+01:00), or CEST (+02:00) from the day after the last Sunday
/// of March up to and including the last Sunday of October (the switches happen at 01:00 UTC,
/// after local midnight on those Sundays).
func amsterdamMidnight(year: Int64, month: Int64, day: Int64) throws(TimestampError) -> Timestamp {
    let utc = try Timestamp(year: year, month: month, day: day)
    let days = utc.millisecondsSinceEpoch / Timestamp.millisecondsPerDay
    func lastSunday(_ month: Int64) -> Int64 {
        let last = (try? Timestamp(year: year, month: month, day: 31).millisecondsSinceEpoch / Timestamp.millisecondsPerDay) ?? 0
        // 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7.
        let weekday = ((last + 4) % 7 + 7) % 7
        return last - weekday
    }
    let summer = days > lastSunday(3) && days <= lastSunday(10)
    return try Timestamp(year: year, month: month, day: day, offsetMinutes: summer ? 120 : 60)
}

/// The Amsterdam calendar date of a midnight made by `amsterdamMidnight`.
func civil(_ time: Timestamp) -> (year: Int64, month: Int64, day: Int64) {
    // Two hours on lands inside the same local day whatever the offset.
    Timestamp(millisecondsSinceEpoch: time.millisecondsSinceEpoch + 2 * 3_600_000).utcDate
}
