/// What deciding one request needs from the consent state, copied out under the state's lock so that the policy
/// engine evaluates without holding it: a slow evaluation then delays no append.
public struct DecisionSnapshot: Sendable {
    /// Entries applied when the snapshot was taken: the decision's `basis`.
    public let size: UInt64
    /// The identity of the state's code table, which a compiled policy must share.
    public let codesIdentity: UInt64
    public let subject: ConsentState.Subject?
    /// The subject's consents, oldest first.
    public let consents: [ConsentState.Consent]
    public let recipient: ConsentState.Organisation?
    public let requester: ConsentState.Organisation?
}

extension ConsentState {
    /// The part of the state a decision on `request` reads.
    ///
    /// A member's request relies only on consents its own organisation recorded: each organisation that knows a
    /// child has its own agreement with the whānau, and never learns of another's. A facilitator's request, made
    /// for the cluster, may rely on any.
    public func snapshot(for request: ShareRequest) -> DecisionSnapshot {
        var relied = consents(of: request.subject)
        if request.requesterRole == Role.member.rawValue {
            relied.removeAll { $0.recordedBy != request.requester }
        }
        return DecisionSnapshot(
            size: size,
            codesIdentity: codes.identity,
            subject: subjects[request.subject],
            consents: relied,
            recipient: organisations[request.recipient],
            requester: organisations[request.requester]
        )
    }
}
