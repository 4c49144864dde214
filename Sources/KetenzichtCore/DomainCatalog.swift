/// The party domains, their waiting-time norms and regie eligibility, and the ZRM life-domain
/// mapping (SPEC §1, DOMAIN.md). Values come from the config file; `standard` holds the documented
/// defaults so that a daemon without a config behaves as DOMAIN.md describes.
public struct DomainCatalog: Sendable, Equatable {
    public struct PartyDomain: Sendable, Equatable {
        public var name: String
        public var normDays: Double
        public var regieEligible: Bool
        public var normBasis: String

        public init(name: String, normDays: Double, regieEligible: Bool, normBasis: String = "") {
            self.name = name
            self.normDays = normDays
            self.regieEligible = regieEligible
            self.normBasis = normBasis
        }
    }

    public private(set) var domains: [String: PartyDomain]
    /// ZRM life domain → the party domain that carries it.
    public private(set) var lifeDomainCarriers: [String: String]
    /// The norm for `crisis` urgency, whatever the domain.
    public var crisisNormDays: Double
    /// Domain given to a party seen in a referral before it was registered.
    public var fallbackDomain: String

    public init(
        domains: [PartyDomain],
        lifeDomainCarriers: [String: String],
        crisisNormDays: Double,
        fallbackDomain: String = "overig"
    ) throws(CatalogError) {
        var byName: [String: PartyDomain] = [:]
        for domain in domains {
            guard byName[domain.name] == nil else { throw .duplicateDomain(domain.name) }
            guard domain.normDays > 0, domain.normDays.isFinite else { throw .invalidNorm(domain.name, domain.normDays) }
            byName[domain.name] = domain
        }
        guard byName[fallbackDomain] != nil else { throw .unknownDomain(fallbackDomain, context: "fallbackDomain") }
        for (lifeDomain, carrier) in lifeDomainCarriers where byName[carrier] == nil {
            throw .unknownDomain(carrier, context: "zrm mapping of \(lifeDomain)")
        }
        guard crisisNormDays > 0, crisisNormDays.isFinite else { throw .invalidNorm("crisis", crisisNormDays) }
        self.domains = byName
        self.lifeDomainCarriers = lifeDomainCarriers
        self.crisisNormDays = crisisNormDays
        self.fallbackDomain = fallbackDomain
    }

    public func domain(named name: String) -> PartyDomain? { domains[name] }
    public func isLifeDomain(_ name: String) -> Bool { lifeDomainCarriers[name] != nil }

    /// The ZRM 2017 life domains, in the matrix's own order.
    public static let zrmLifeDomains: [String] = [
        "financien", "werk-opleiding", "tijdsbesteding", "huisvesting", "huiselijke-relaties",
        "geestelijke-gezondheid", "lichamelijke-gezondheid", "middelengebruik", "basale-adl",
        "instrumentele-adl", "sociaal-netwerk", "maatschappelijke-participatie", "justitie",
    ]

    /// The defaults of DOMAIN.md: legal norms, default regie domains and the ZRM mapping.
    public static let standard: DomainCatalog = {
        let domains: [PartyDomain] = [
            .init(name: "participatie", normDays: 28, regieEligible: true, normBasis: "Participatiewet art. 52"),
            .init(name: "wmo", normDays: 42, regieEligible: true, normBasis: "Wmo 2015 art. 2.3.2"),
            .init(name: "jeugd", normDays: 56, regieEligible: true, normBasis: "Awb 4:13"),
            .init(name: "ggz", normDays: 98, regieEligible: false, normBasis: "Treeknorm"),
            .init(name: "schuldhulp", normDays: 28, regieEligible: true, normBasis: "Wgs art. 4"),
            .init(name: "woningbouw", normDays: 56, regieEligible: false, normBasis: "project default"),
            .init(name: "uwv", normDays: 56, regieEligible: false, normBasis: "UWV WIA-beslistermijn"),
            .init(name: "bewindvoering", normDays: 120, regieEligible: false, normBasis: "practice 2-6 months"),
            .init(name: "huisarts", normDays: 56, regieEligible: false, normBasis: "project default"),
            .init(name: "verslavingszorg", normDays: 56, regieEligible: false, normBasis: "project default"),
            .init(name: "welzijn", normDays: 56, regieEligible: false, normBasis: "project default"),
            .init(name: "reclassering", normDays: 56, regieEligible: false, normBasis: "project default"),
            .init(name: "overig", normDays: 56, regieEligible: false, normBasis: "project default"),
        ]
        let carriers: [String: String] = [
            "financien": "schuldhulp",
            "werk-opleiding": "participatie", "tijdsbesteding": "participatie",
            "maatschappelijke-participatie": "participatie",
            "huisvesting": "woningbouw",
            "huiselijke-relaties": "jeugd",
            "geestelijke-gezondheid": "ggz",
            "middelengebruik": "verslavingszorg",
            "lichamelijke-gezondheid": "wmo", "basale-adl": "wmo", "instrumentele-adl": "wmo",
            "sociaal-netwerk": "welzijn",
            "justitie": "reclassering",
        ]
        // The literal above satisfies every invariant the initializer checks.
        return try! DomainCatalog(domains: domains, lifeDomainCarriers: carriers, crisisNormDays: 3)
    }()
}

public enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    case duplicateDomain(String)
    case invalidNorm(String, Double)
    case unknownDomain(String, context: String)

    public var description: String {
        switch self {
        case .duplicateDomain(let name): "domain \(name) is listed twice"
        case let .invalidNorm(name, value): "norm of \(name) must be a positive number of days, got \(value)"
        case let .unknownDomain(name, context): "\(context) names domain \(name), which is not in the domain list"
        }
    }
}
