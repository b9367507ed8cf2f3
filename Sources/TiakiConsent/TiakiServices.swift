public import Logging
public import TiakiLedger
public import TiakiModel
public import TiakiPolicy

/// Everything Tiaki does, one service per aggregate, over one shared core. The HTTP API, the pages, the command
/// line and the simulation all call these; none of them holds domain logic of its own.
public struct TiakiServices: Sendable {
    public let core: LedgerCore
    public let organisations: OrganisationService
    public let credentials: CredentialService
    public let subjects: SubjectService
    public let consents: ConsentService
    public let decisions: DecisionService
    public let disclosures: DisclosureService
    public let notices: NoticeService
    public let breaches: BreachService

    public var ledger: Ledger { core.ledger }
    public var policy: PolicySet { decisions.policy }

    /// Opens the ledger in `directory` with `policy`'s vocabulary, rebuilds the consent state, compiles the policy
    /// and (when `publish` is true) records the policy set if it changed.
    public static func open(
        _ directory: LedgerDirectory,
        database: PostgresAddress? = nil,
        configuration: LedgerConfiguration = LedgerConfiguration(),
        policy: PolicySet,
        publish: Bool = true,
        random: RandomSource = .system,
        logger: Logger
    ) async throws -> TiakiServices {
        let core = try await LedgerCore.open(
            directory,
            database: database,
            configuration: configuration,
            vocabulary: policy.vocabulary,
            random: random,
            logger: logger
        )
        do {
            let decisions = try await DecisionService(core: core, policy: policy, publish: publish)
            return TiakiServices(core: core, decisions: decisions)
        } catch {
            await core.close()
            throw error
        }
    }

    init(core: LedgerCore, decisions: DecisionService) {
        self.core = core
        self.organisations = OrganisationService(core: core)
        self.credentials = CredentialService(core: core)
        self.subjects = SubjectService(core: core)
        self.consents = ConsentService(core: core)
        self.decisions = decisions
        let duties = decisions.policy.duties
        self.notices = NoticeService(core: core, duties: duties)
        self.disclosures = DisclosureService(core: core, notices: notices)
        self.breaches = BreachService(core: core, duties: duties)
    }

    /// Stops accepting appends, waits for those accepted to commit, and closes the ledger.
    public func close() async { await core.close() }

    /// The subject if `caller` may see them (a member: a child their organisation knows), else "not found" —
    /// the same answer as for a subject that does not exist.
    public func subject(_ id: String, visibleTo caller: Caller) throws -> ConsentState.Subject {
        guard let subject = subjects.subject(id), caller.may(see: subject) else {
            throw TiakiError(.unknownSubject, "no subject \(id)", field: "subject")
        }
        return subject
    }
}
