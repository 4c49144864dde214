import Foundation
import Testing
@testable import KetenzichtConfig
import KetenzichtCore

@Suite struct ConfigurationTests {
    static let shippedConfig = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/ketenzicht.yaml").path

    @Test func shippedConfigEqualsTheDefaults() throws {
        let config = try Configuration.load(path: Self.shippedConfig)
        #expect(config == Configuration())
        #expect(config.catalog == DomainCatalog.standard)
    }

    @Test func minimalConfigIsAllDefaults() throws {
        #expect(try Configuration.parse(yaml: "version: 1\n") == Configuration())
    }

    @Test func overridesAndExtends() throws {
        let config = try Configuration.parse(yaml: """
            version: 1
            paths: { state: /var/lib/ketenzicht }
            ingest: { unknownParties: reject, pendingHorizonDays: 10 }
            domains:
              crisisNormDays: 1
              list:
                ggz: { normDays: 70 }
                vluchtelingenwerk: { normDays: 30, regieEligible: true }
            zrm: { sociaal-netwerk: vluchtelingenwerk }
            """)
        #expect(config.stateDirectory == "/var/lib/ketenzicht")
        #expect(config.unknownParties == .reject)
        #expect(config.pendingHorizonDays == 10)
        #expect(config.catalog.crisisNormDays == 1)
        #expect(config.catalog.domain(named: "ggz")?.normDays == 70)
        #expect(config.catalog.domain(named: "ggz")?.normBasis == "Treeknorm")
        #expect(config.catalog.domain(named: "vluchtelingenwerk")?.regieEligible == true)
        #expect(config.catalog.lifeDomainCarriers["sociaal-netwerk"] == "vluchtelingenwerk")
    }

    @Test func socketLimitsAndRefusingUnknownPeers() throws {
        let config = try Configuration.parse(yaml: """
            version: 1
            socket: { maxRequestBytes: 65536, maxConnections: 32, requestTimeoutSeconds: 2.5, sendTimeoutSeconds: 10 }
            access: { others: none }
            """)
        #expect(config.maxRequestBytes == 65536)
        #expect(config.maxConnections == 32)
        #expect(config.requestTimeoutSeconds == 2.5)
        #expect(config.sendTimeoutSeconds == 10)
        #expect(config.access.othersCanRead == false)
        let defaults = Configuration()
        #expect(defaults.maxConnections == 256 && defaults.requestTimeoutSeconds == 30 && defaults.sendTimeoutSeconds == 60)
    }

    @Test(arguments: [
        ("", "config: empty config: it needs at least `version: 1`"),
        ("paths: {}\n", "config:1: version: missing; this build reads `version: 1`"),
        ("version: 2\n", "config:1: version: unsupported version 2; this build reads version 1"),
        ("version: 1\npath: {}\n", "config:2: path: unknown setting; expected one of access, alerts, analysis, domains, graphs, inbox, ingest, paths, socket, version, zrm"),
        ("version: 1\ningest:\n  pendingHorizonDays: -3\n", "config:3: ingest.pendingHorizonDays: must be a positive number, got -3"),
        ("version: 1\ningest:\n  unknownParties: maybe\n", "config:3: ingest.unknownParties: must be register or reject"),
        ("version: 1\nzrm:\n  financien: astrologie\n", "config:1: domains: zrm mapping of financien names domain astrologie, which is not in the domain list"),
        ("version: 1\nzrm:\n  geluk: wmo\n", "config:3: zrm.geluk: unknown setting; expected one of basale-adl, financien, geestelijke-gezondheid, huiselijke-relaties, huisvesting, instrumentele-adl, justitie, lichamelijke-gezondheid, maatschappelijke-participatie, middelengebruik, sociaal-netwerk, tijdsbesteding, werk-opleiding"),
        ("version: 1\ndomains:\n  list:\n    wmo: { regieEligible: misschien }\n", "config:4: domains.list.wmo.regieEligible: must be true or false, got misschien"),
        ("version: 1\nsocket:\n  maxConnections: 0\n", "config:3: socket.maxConnections: must be a positive number, got 0"),
        ("version: 1\nsocket:\n  maxConnections: 2.5\n", "config:3: socket.maxConnections: must be a whole number from 1 to 65536"),
        ("version: 1\nsocket:\n  requestTimeoutSeconds: 100000\n", "config:3: socket.requestTimeoutSeconds: must be at most 86400 seconds (a day), got 100000"),
        ("version: 1\nsocket:\n  sendTimeoutSeconds: -1\n", "config:3: socket.sendTimeoutSeconds: must be a positive number, got -1"),
        ("version: 1\nsocket:\n  readTimeout: 3\n", "config:3: socket.readTimeout: unknown setting; expected one of maxConnections, maxRequestBytes, requestTimeoutSeconds, sendTimeoutSeconds"),
        ("version: [1\n", nil),
    ] as [(String, String?)])
    func refusesWithAClearMessage(_ yaml: String, _ expected: String?) {
        do {
            _ = try Configuration.parse(yaml: yaml)
            Issue.record("accepted invalid config \(yaml)")
        } catch {
            if let expected { #expect(error.description == expected) } else { #expect(error.message.hasPrefix("not valid YAML")) }
        }
    }
}
