/// A JSON value for answers (SPEC §5): numbers are plain JSON numbers, an infinite value is the
/// string "Infinity", an undefined one `null`. Objects keep their keys sorted, so answers are
/// byte-for-byte stable (golden files, diffs between runs).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func number(_ value: Double?) -> JSONValue {
        guard let value else { return .null }
        if value.isNaN { return .null }
        if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
        return .number(value)
    }

    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
    public static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    public static func time(_ value: Timestamp?) -> JSONValue { value.map { .string($0.rfc3339) } ?? .null }

    public var serialized: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4096)
        write(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Serialises as UTF-8 bytes: answers are written once per request, and appending bytes is a copy.
    public func write(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let value): bytes.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let value):
            // `.number(x)` with a non-optional Double is the case, not the factory above, so an
            // infinite or undefined value can still get here; JSON has no literal for either.
            if value.isNaN {
                bytes.append(contentsOf: "null".utf8)
            } else if value.isInfinite {
                bytes.append(contentsOf: (value > 0 ? "\"Infinity\"" : "\"-Infinity\"").utf8)
            } else {
                bytes.append(contentsOf: Self.format(value).utf8)
            }
        case .string(let value): CanonicalJSONWriter.appendString(value, to: &bytes)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let fields):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                CanonicalJSONWriter.appendString(key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Integers print without a fraction; other values with up to 6 decimals, trailing zeros cut.
    /// Beyond 1e15 a Double has no sixth decimal to round (and scaling could overflow to
    /// infinity), so it prints as it is; infinity and NaN print as `number(_:)` maps them.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return CanonicalJSONWriter.number(value) }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        if abs(value) >= 1e15 { return String(value) }
        let scaled = (value * 1_000_000).rounded() / 1_000_000
        if scaled == scaled.rounded(), abs(scaled) < 1e15 { return String(Int64(scaled)) }
        return String(scaled)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}

extension PartyMetrics {
    public var json: JSONValue {
        .object([
            "party": .string(party), "name": .string(name), "domain": .string(domain),
            "arrivalsPerWeek": .number(arrivalsPerWeek), "startsPerWeek": .number(startsPerWeek),
            "backlog": .int(backlog), "waitP50Days": .number(waitP50Days), "waitP90Days": .number(waitP90Days),
            "expectedWaitDays": .number(expectedWaitDays), "utilization": .number(utilization),
            "normDays": .number(normDays), "overNorm": .int(overNorm), "bottleneckScore": .number(bottleneckScore),
            "reason": .string(reason),
        ])
    }
}

extension RegieDecision {
    public var json: JSONValue {
        .object([
            "case": .string(caseID),
            "regisseur": .string(regisseur),
            "rule": .string(rule.rawValue),
            "weights": .object(weights.mapValues { .number($0) }),
            "zwaartepunt": .array(zwaartepunt.map { .string($0) }),
            "involved": .array(involved.map {
                .object(["party": .string($0.party), "domain": .string($0.domain), "involvedSince": .time($0.involvedSince), "regieEligible": .bool($0.regieEligible)])
            }),
            "candidates": .array(candidates.map {
                .object(["party": .string($0.party), "domain": .string($0.domain), "weight": .number($0.weight), "involvedSince": .time($0.involvedSince)])
            }),
            "manualAssignment": .string(manualAssignment),
            "zwaartepuntUncovered": .bool(zwaartepuntUncovered),
            "noRegisseur": .bool(noRegisseur),
            "history": .array(history.map { .object(["time": .time($0.time), "regisseur": .string($0.regisseur)]) }),
        ])
    }
}

extension CaseProjection {
    public var json: JSONValue {
        .object([
            "case": .string(caseID),
            "projectedCompletion": .time(projectedCompletion),
            "exceedsNorm": .bool(exceedsNorm),
            "referrals": .array(referrals.map {
                .object([
                    "referral": .string($0.referral), "from": .string($0.from), "to": .string($0.to),
                    "created": .time($0.created), "projectedStart": .time($0.projectedStart),
                    "projectedWaitDays": .number($0.projectedWaitDays), "normDays": .number($0.normDays),
                    "exceedsNorm": .bool($0.exceedsNorm), "waitsFor": .array($0.waitsFor.map { .string($0) }),
                    "dependencyInferred": .bool($0.dependencyInferred),
                ])
            }),
        ])
    }
}

extension PingPongReport {
    public var json: JSONValue {
        .object([
            "returns": .array(returns.map {
                .object([
                    "referral": .string($0.referral), "case": .string($0.caseID), "from": .string($0.from), "to": .string($0.to),
                    "created": .time($0.created), "returnOf": .string($0.returnOf), "daysAfter": .number($0.daysAfter),
                ])
            }),
            "pairs": .array(pairs.map { .object(["parties": .array($0.parties.map { .string($0) }), "returns": .int($0.returns), "cases": .int($0.cases)]) }),
            "cases": .array(cases.map { .object(["case": .string($0.caseID), "returns": .int($0.returns)]) }),
        ])
    }
}

extension DroppedReferral {
    public var json: JSONValue {
        .object([
            "referral": .string(referral), "case": .string(caseID), "from": .string(from), "to": .string(to),
            "status": .string(step.rawValue), "endedAt": .time(endedAt), "reason": .string(reason),
        ])
    }
}

extension WhatIfAnswer {
    public var json: JSONValue {
        .object([
            "party": .string(party),
            "extraWaitDays": .number(extraWaitDays),
            "capacityPerWeek": .number(capacityPerWeek),
            "waitDays": .number(waitDays),
            "newWaitDays": .number(newWaitDays),
            "affectedParties": .array(affectedParties.map {
                .object(["party": .string($0.party), "T": .number($0.expectedDaysToEnd), "newT": .number($0.newExpectedDaysToEnd), "changeDays": .number($0.changeDays)])
            }),
            "unboundedParties": .array(unboundedParties.map { .string($0) }),
            "affectedCases": .array(affectedCases.map {
                .object([
                    "case": .string($0.caseID), "projectedCompletion": .time($0.projectedCompletion),
                    "newProjectedCompletion": .time($0.newProjectedCompletion), "changeDays": .number($0.changeDays),
                    "newlyExceedsNorm": .bool($0.newlyExceedsNorm),
                ])
            }),
            "casesNewlyOverNorm": .array(casesNewlyOverNorm.map { .string($0) }),
        ])
    }
}
