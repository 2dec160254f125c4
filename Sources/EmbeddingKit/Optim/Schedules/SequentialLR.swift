/// Schedules one after another, PyTorch's `SequentialLR`: before `milestones[0]` the first
/// schedule, then from `milestones[k - 1]` schedule `k`, its epochs counted from 0 at that milestone.
public struct SequentialLR: LearningRateSchedule {
    /// The schedules, one more than the milestones.
    public let schedules: [any LearningRateSchedule]
    /// The epochs at which the next schedule takes over, increasing.
    public let milestones: [Int]

    /// Throws `EmbeddingKitError` (`.invalidArgument`) unless there is exactly one milestone fewer
    /// than schedules and the milestones are positive and increasing.
    public init(_ schedules: [any LearningRateSchedule], milestones: [Int]) throws(EmbeddingKitError) {
        guard !schedules.isEmpty, milestones.count == schedules.count - 1 else {
            throw EmbeddingKitError(.invalidArgument,
                "SequentialLR: expected \(Swift.max(schedules.count - 1, 0)) milestones for \(schedules.count) schedules, got \(milestones.count)")
        }
        guard zip([0] + milestones, milestones).allSatisfy({ $0 < $1 }) else {
            throw EmbeddingKitError(.invalidArgument, "SequentialLR: milestones must be positive and increasing, got \(milestones)")
        }
        self.init(uncheckedSchedules: schedules, milestones: milestones)
    }

    init(uncheckedSchedules schedules: [any LearningRateSchedule], milestones: [Int]) {
        self.schedules = schedules
        self.milestones = milestones
    }

    /// The rate of the schedule in force at `epoch`, at its own epoch count.
    public func learningRate(at epoch: Int, base: Float) -> Float {
        let k = milestones.firstIndex { epoch < $0 } ?? milestones.count
        return schedules[k].learningRate(at: epoch - (k == 0 ? 0 : milestones[k - 1]), base: base)
    }
}
