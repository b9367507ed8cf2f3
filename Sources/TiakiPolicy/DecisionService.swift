import Synchronization
public import TiakiConsent

/// Decisions against the live consent state: the policy compiled against the registry's codes, the policy set
/// recorded in the ledger when it changes, and every recorded decision naming it.
public final class DecisionService: Sendable {
    public let registry: ConsentRegistry
    private let engine: Mutex<PolicyEngine>

    /// Adopts `policy` (its vocabulary becomes the registry's) and, when `publish` is true, records it if it is
    /// not the current one. Only a service that records decisions needs to publish; a what-if question writes
    /// nothing.
    public init(registry: ConsentRegistry, policy: PolicySet, publish: Bool = true) async throws {
        self.registry = registry
        let codes = registry.adopt(policy.vocabulary)
        self.engine = Mutex(try PolicyEngine(policy: policy, codes: codes))
        if publish { _ = try await registry.publishPolicy(digest: policy.digest, files: policy.files) }
    }

    public var policy: PolicySet { engine.withLock { $0.policy } }

    /// Decides without recording (for what-if questions and tests).
    public func decide(_ request: ShareRequest) throws(ConsentError) -> DecisionRecord {
        let engine = self.engine.withLock { $0 }
        let result = registry.withState { state -> Result<DecisionRecord, ConsentError> in
            do throws(ConsentError) {
                return .success(try engine.decide(request, in: state))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decides and appends the decision to the ledger; returns only once it is durable.
    public func decideAndRecord(
        _ request: ShareRequest,
        actor: Actor
    ) async throws -> (decision: DecisionRecord, recorded: Recorded) {
        let decision = try decide(request)
        let recorded = try await registry.recordDecision(decision, actor: actor)
        return (decision, recorded)
    }
}
