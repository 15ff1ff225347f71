import Foundation

/// Checks several nodes' audit exports against each other, offline. Each export is first verified
/// alone (`AuditVerifier`); then, for every pair of nodes A, B:
/// - every `bundle.sent` A→B (seq, hash) has a receipt at B (`bundle.received`/`applied`/`held`/
///   `refused`) with the same hash; otherwise it is *pending* if B logs no later seq from A, and a
///   *dropped receipt* (failure) if it does;
/// - a receipt at B with no matching `bundle.sent` in A's log is a failure when A's export was
///   taken after the receipt, else a warning;
/// - one (from, to, seq) with two hashes anywhere is a *fork* (failure);
/// - the seqs of B's `bundle.applied` from A are gapless from 1;
/// - every `cosignature.issued` by B over A's log names a (size, root) that A's entries reproduce;
/// - A's stored cosignatures from B verify under B's witness key, and that key equals the one B
///   publishes as `keys/node-witness.vkey` when B's export has it;
/// - the knowledge vectors in B's successive `bundle.applied` from A never decrease;
/// - every node's copy of A's journal is a prefix of the journal A signed (``JournalExport``).
public enum CrossCheck {
    public static func run(directories: [URL]) -> AuditReport {
        var f = [Finding]()
        var logs = [String: LoadedLog]()
        for dir in directories {
            let (report, log) = AuditVerifier.load(directory: dir)
            for finding in report.findings where finding.severity != .info {
                f.append(Finding(finding.code, finding.severity, "\(dir.lastPathComponent): \(finding.message)", subject: finding.subject))
            }
            guard let log else { continue }
            if logs[log.meta.node] != nil {
                f.append(Finding(.malformedInput, .incomplete, "two exports for node '\(log.meta.node)'; give one directory per node", subject: dir.path))
            }
            logs[log.meta.node] = log
        }
        let nodes = logs.keys.sorted()
        for a in nodes {
            for b in nodes where a != b {
                f += channel(from: logs[a]!, to: logs[b]!)
                f += cosignatures(of: logs[a]!, by: logs[b]!)
            }
        }
        f += JournalExport.check(directories: directories)
        let stats = ["nodes": logs.count, "events": logs.values.reduce(0) { $0 + $1.events.count }]
        return AuditReport(kind: "cross-check", subjects: directories.map(\.path), findings: f, stats: stats)
    }

    /// Bundles on the channel A → B.
    static func channel(from a: LoadedLog, to b: LoadedLog) -> [Finding] {
        var f = [Finding]()
        let (an, bn) = (a.meta.node, b.meta.node)
        let sent = a.events.filter { $0.event.type == .bundleSent && $0.event.peer == bn }
        let receipts = b.events.filter { $0.event.type.isReceipt && $0.event.peer == an }

        // Forks: one seq, several hashes, within or across the two logs.
        var hashes = [Int64: Set<String>]()
        for e in sent + receipts { if let s = e.event.seq, let h = e.event.hash { hashes[s, default: []].insert(h) } }
        var forked = Set<Int64>()
        for (seq, hs) in hashes.sorted(by: { $0.key < $1.key }) where hs.count > 1 {
            forked.insert(seq)
            f.append(Finding(.fork, .failure, "fork on channel \(an)→\(bn) seq \(seq): different bundle hashes \(hs.sorted().map { String($0.prefix(12)) }.joined(separator: " vs "))", subject: "\(an)→\(bn)#\(seq)"))
        }

        let receivedSeqs = Set(receipts.compactMap { $0.event.seq })
        let maxReceived = receivedSeqs.max() ?? 0
        for e in sent {
            guard let seq = e.event.seq, !forked.contains(seq) else { continue }
            if receivedSeqs.contains(seq) { continue }
            if seq < maxReceived {
                f.append(Finding(.receiptMissing, .failure, "\(an) logged bundle.sent seq \(seq) to \(bn) (entry \(e.index)) but \(bn)'s log has no receipt for it while it logs seq \(maxReceived) from \(an)", subject: "\(an)→\(bn)#\(seq)"))
            } else {
                f.append(Finding(.pending, .warning, "bundle seq \(seq) from \(an) to \(bn) is pending: \(bn) logs nothing at or after it yet", subject: "\(an)→\(bn)#\(seq)"))
            }
        }
        let sentSeqs = Set(sent.compactMap { $0.event.seq })
        for e in receipts {
            guard let seq = e.event.seq, !sentSeqs.contains(seq), !forked.contains(seq) else { continue }
            // A refused bundle A never sent is someone else's forgery or replay, kept as evidence.
            let severity: Finding.Severity =
                e.event.type == .bundleRefused ? .warning : e.event.at <= a.meta.exportedAt ? .failure : .warning
            f.append(Finding(.unsentReceipt, severity, "\(bn) logged \(e.event.type.rawValue) seq \(seq) from \(an) (entry \(e.index)) but \(an)'s log has no bundle.sent for it", subject: "\(an)→\(bn)#\(seq)"))
        }

        // Applied seqs are gapless from 1.
        let applied = receipts.filter { $0.event.type == .bundleApplied }
        let appliedSeqs = Set(applied.compactMap { $0.event.seq })
        if let top = appliedSeqs.max(), top >= 1 {
            if let gap = (1...top).lazy.first(where: { !appliedSeqs.contains($0) }) {
                f.append(Finding(.sequenceGap, .failure, "\(bn) applied bundles from \(an) up to seq \(top) but never seq \(gap)", subject: "\(an)→\(bn)#\(gap)"))
            }
        }

        // Knowledge only grows across successive applied bundles.
        var previous: (index: Int, knowledge: [String: Int64])?
        for e in applied {
            guard let k = e.event.knowledge else { continue }
            if let p = previous, let origin = p.knowledge.keys.sorted().first(where: { (k[$0] ?? 0) < p.knowledge[$0]! }) {
                f.append(Finding(.knowledgeDecreased, .failure, "\(bn)'s knowledge of '\(origin)' went from \(p.knowledge[origin]!) (entry \(p.index)) down to \(k[origin] ?? 0) (entry \(e.index)) in bundles applied from \(an)", subject: "\(bn) entry \(e.index)"))
            }
            previous = (e.index, k)
        }
        return f
    }

    /// Cosignatures exchanged between A's log and witness B.
    static func cosignatures(of a: LoadedLog, by b: LoadedLog) -> [Finding] {
        var f = [Finding]()
        let (an, bn) = (a.meta.node, b.meta.node)
        for e in b.events where e.event.type == .cosignatureIssued && e.event.peer == an {
            guard let ref = e.event.checkpoint else { continue }
            guard ref.origin == a.checkpoint.origin else {
                f.append(Finding(.cosignedTreeMismatch, .failure, "\(bn) entry \(e.index) cosigned '\(ref.origin)' for peer \(an), whose log origin is '\(a.checkpoint.origin)'", subject: "\(bn) entry \(e.index)"))
                continue
            }
            guard ref.size <= a.tree.size, let root = try? a.tree.root(size: ref.size) else {
                f.append(Finding(.cosignedTreeMismatch, .failure, "\(bn) entry \(e.index) cosigned \(an)'s log at size \(ref.size), but \(an)'s export only has \(a.tree.size) entries: \(an) rolled back or withheld entries", subject: "\(bn) entry \(e.index)"))
                continue
            }
            if Bytes.base64(root) != ref.root {
                f.append(Finding(.cosignedTreeMismatch, .failure, "\(bn) entry \(e.index) cosigned \(an)'s log at size \(ref.size) with root \(ref.root), but \(an)'s entries give \(Bytes.base64(root)): \(an) showed \(bn) a different history", subject: "\(bn) entry \(e.index)"))
            }
        }
        if let published = b.witnessKey, let used = a.peerWitnessKeys[bn], published != used {
            f.append(Finding(.witnessKeyMismatch, .failure, "\(an)'s export holds witness key \(used.text) for \(bn), but \(bn) publishes \(published.text)", subject: "\(an) keys/\(bn).vkey"))
        }
        return f
    }
}
