import Foundation
import Testing
import TiakiAudit
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

/// The standard formats, checked against Tiaki's own record of every consent and refusal of a simulated year.
@Suite struct ConsentFormatTests {
    /// A simulated cluster year (60 children, 200 days: consents, replacements, withdrawals, refusals) and, read
    /// back from its ledger, each consent's terms, each refusal, and the state as of `asOf`.
    struct Year {
        let path: String
        let state: ConsentState
        let terms: [UInt64: ConsentTerms]
        let refusals: [UInt64: ConsentRefused]
        let asOf = Day("2026-12-01") ?? Day(Date())

        static func run(_ body: (Year) throws -> Void) async throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tiaki-formats-\(UUID().uuidString)"
            )
            .path
            defer { try? FileManager.default.removeItem(atPath: path) }
            var configuration = SimulationConfiguration()
            configuration.subjects = 60
            configuration.days = 200
            _ = try await ClusterSimulation.run(
                directory: LedgerDirectory(path: path),
                policy: PolicySet.load(directory: repositoryRoot.appendingPathComponent("Policies").path),
                configuration: configuration,
                logger: quietLogger()
            )
            var state = ConsentState()
            var terms: [UInt64: ConsentTerms] = [:]
            var refusals: [UInt64: ConsentRefused] = [:]
            try EntryReader(path: path).read { index, bytes in
                var entry = try ConsentEntry(bytes: bytes)
                entry.index = index
                if let t = entry.body as? ConsentTerms { terms[index] = t }
                if let r = entry.body as? ConsentRefused { refusals[index] = r }
                state.apply(entry)
            }
            try body(Year(path: path, state: state, terms: terms, refusals: refusals))
        }

        func status(_ index: UInt64) -> ConsentStatus? {
            if refusals[index] != nil { return .refused }
            return state.consents[Int(index)]?.status(on: asOf)
        }
    }

    static let fhirStatus: [ConsentStatus: String] = [
        .inForce: "active", .withdrawn: "inactive", .expired: "inactive", .replaced: "inactive", .refused: "rejected",
    ]

    @Test("FHIR R4: every consent and refusal, with purposes, information, audience, retention and status as recorded")
    func fhirRoundTrip() async throws {
        try await Year.run { year in
            let result = try ConsentExport.run(path: year.path, format: .fhirR4, asOf: year.asOf)
            let entries = try #require(result.document["entry"]?.arrayValue)
            let resources = entries.compactMap { $0["resource"] }
            let consents = resources.filter { $0["resourceType"] == "Consent" }
            #expect(consents.count == year.terms.count + year.refusals.count)
            #expect(year.refusals.count > 0 && year.state.consents.values.contains { $0.withdrawn != nil })
            #expect(year.state.consents.values.contains { $0.supersededBy != nil })

            // Every coding of Tiaki's resolves in the bundle's own code systems.
            var concepts: [String: Set<String>] = [:]
            for system in resources where system["resourceType"] == "CodeSystem" {
                let url = try #require(system["url"]?.stringValue)
                concepts[url] = Set((system["concept"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue })
            }
            #expect(concepts.count == Vocabulary.Dimension.allCases.count)

            for resource in consents {
                let index = try #require(resource["id"]?.stringValue.flatMap { UInt64($0) })
                let expected = try #require(year.status(index))
                #expect(resource["status"]?.stringValue == Self.fhirStatus[expected], "consent \(index)")
                let provision = try #require(resource["provision"])
                let purposes = (provision["purpose"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
                let information = (provision["code"]?.arrayValue ?? []).compactMap {
                    $0["coding"]?.arrayValue?.first?["code"]?.stringValue
                }
                for coding in codings(in: resource) {
                    guard let system = coding["system"]?.stringValue, let known = concepts[system] else { continue }
                    #expect(known.contains(coding["code"]?.stringValue ?? ""), "\(system) in consent \(index)")
                }
                if let refusal = year.refusals[index] {
                    #expect(provision["type"] == "deny")
                    #expect(purposes == refusal.purposes && information == refusal.information)
                    continue
                }
                let terms = try #require(year.terms[index])
                #expect(provision["type"] == "permit")
                #expect(purposes == terms.purposes, "consent \(index)")
                #expect(information == terms.information, "consent \(index)")
                #expect(provision["period"]?["end"]?.stringValue == terms.retention.until)
                let actors = provision["actor"]?.arrayValue ?? []
                let organisations = actors.compactMap { $0["reference"]?["identifier"]?["value"]?.stringValue }
                let kinds = actors.compactMap { actor in
                    actor["role"]?["coding"]?.arrayValue?.first {
                        $0["system"]?.stringValue?.hasSuffix("/organisation-kinds") == true
                    }?["code"]?.stringValue
                }
                #expect(organisations == terms.audience.organisations && kinds == terms.audience.kinds)
                let withdrawn = (resource["extension"]?.arrayValue ?? []).first {
                    $0["url"]?.stringValue?.hasSuffix("/withdrawn") == true
                }
                let consent = try #require(year.state.consents[Int(index)])
                #expect((withdrawn != nil) == (consent.withdrawn != nil), "consent \(index)")
                if let w = consent.withdrawn {
                    let date = withdrawn?["extension"]?.arrayValue?.first { $0["url"] == "date" }?["valueDate"]
                    #expect(date?.stringValue == w.date.description)
                }
                // No name leaves in an export.
                #expect(!(resource["contained"]?.arrayValue ?? []).contains { $0["name"] != nil })
            }
        }
    }

    @Test("ISO/IEC TS 27560: every record carries every mandatory element, and agrees with the ledger")
    func iso27560() async throws {
        try await Year.run { year in
            let result = try ConsentExport.run(path: year.path, format: .iso27560, asOf: year.asOf)
            let records = try #require(result.document["records"]?.arrayValue)
            #expect(records.count == year.terms.count + year.refusals.count)
            // The elements the issue and the DPV guide for 27560 make mandatory.
            #expect(
                ISO27560Record.mandatory == [
                    "schemaVersion", "recordId", "piiPrincipalId", "notice", "purposes", "personalData", "controllers",
                    "recipients", "storageLocations", "retention", "rights", "consentStatus", "statusHistory",
                ]
            )
            for record in records {
                for key in ISO27560Record.mandatory { #expect(record[key] != nil, "\(key) missing") }
                let id = try #require(record["recordId"]?.stringValue)
                let index = try #require(id.split(separator: "/").last.flatMap { UInt64($0) })
                let expected = try #require(year.status(index))
                #expect(record["status"]?.stringValue == expected.rawValue)
                let codes = { (key: String) in (record[key]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue } }
                let history = record["statusHistory"]?.arrayValue ?? []
                #expect(history.allSatisfy { $0["time"]?.stringValue?.count == 24 })
                if let refusal = year.refusals[index] {
                    #expect(codes("purposes") == refusal.purposes && codes("personalData") == refusal.information)
                    #expect(history.first?["status"] == "dpv:ConsentRefused")
                    continue
                }
                let terms = try #require(year.terms[index])
                #expect(codes("purposes") == terms.purposes)
                #expect(codes("personalData") == terms.information)
                #expect(codes("storageLocations") == terms.sharing.storageRegions)
                #expect(record["retention"]?["until"]?.stringValue == terms.retention.until)
                // The words shown are sealed to the child's key: records that leave Tiaki say so, never the cipher.
                #expect(
                    record["notice"]?["text"]?.stringValue
                        == (Sealed.isSealed(terms.text) ? ConsentRecords.sealedWords : terms.text)
                )
                #expect(record["notice"]?["version"]?.stringValue == terms.informed.noticeVersion)
                #expect(record["notice"]?["language"]?.stringValue == terms.informed.language)
                let recipients = record["recipients"]?.arrayValue ?? []
                #expect(
                    recipients.compactMap { $0["id"]?.stringValue } == terms.audience.organisations
                        && recipients.compactMap { $0["kind"]?["code"]?.stringValue } == terms.audience.kinds
                )
                let rights = (record["rights"]?.arrayValue ?? []).compactMap { $0["right"]?.stringValue }
                #expect(rights == ["access and correction", "withdraw consent"])
                let consent = try #require(year.state.consents[Int(index)])
                let statuses = history.compactMap { $0["status"]?.stringValue }
                #expect(statuses.first == "dpv:ConsentGiven")
                #expect(statuses.contains("dpv:ConsentWithdrawn") == (consent.withdrawn != nil))
                #expect(statuses.contains("dpv:ConsentInvalidated") == (consent.supersededBy != nil))
            }
        }
    }

    /// Every `Coding` (an object with a system and a code) anywhere in `value`.
    func codings(in value: JSONValue) -> [JSONValue] {
        switch value {
        case .object(let members):
            let own = members["system"] != nil && members["code"] != nil ? [value] : []
            return own + members.values.flatMap { codings(in: $0) }
        case .array(let items): return items.flatMap { codings(in: $0) }
        default: return []
        }
    }
}
