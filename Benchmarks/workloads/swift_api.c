/* swift_api.c — workloads measured through the public Swift API by ek-swift-bench
 * (Examples/Sources/ek-swift-bench/main.swift, a co-process that checks its own result first): no C functions here. */
#include "bench.h"

static const bench_workload swift_api_workloads[] = {
    {.order = 51, .id = "W5-swift", .name = "sparse train step, Swift API",
     .params = "as W5, through EmbeddingBag + SGD in Swift", .peer_call = "(the W5 PyTorch figure)",
     .rows = 1000000, .dim = 64, .n = 4096 * 40, .bags = 4096, .mode = EK_BAG_SUM, .unit = UNIT_ELEMS,
     .target_ratio = 5.0, .target_text = ">= 5x", .peer_id = "W5",
     .note = "Swift: EmbeddingBag(sum, sparse) forward, backward(g), SGD.step(), zeroGrad() (ek-swift-bench)",
     .api = BENCH_API_SWIFT, .work = work_index_elems},
    {.order = 90, .id = "W9", .name = "text-classifier train step",
     .params = "EmbeddingBag(mean, 200k x 64, sparse) + Linear(64,100) + CE + SGD",
     .peer_call = "the same model in PyTorch", .rows = 200000, .dim = 64, .n = 256 * 20, .bags = 256,
     .mode = EK_BAG_MEAN, .unit = UNIT_ELEMS, .target_ratio = 4.0, .target_text = ">= 4x", .peer_id = "W9",
     .note = "Swift: EmbeddingBag(mean, sparse) -> Linear(64, 100) -> crossEntropy -> backward -> SGD(lr 0.1), "
             "batch 256 x 20 (ek-swift-bench); throughput = tokens x dim per s",
     .api = BENCH_API_SWIFT, .work = work_index_elems},
    {.order = 91, .id = "W9a", .name = "text-classifier train step, Adagrad", .params = "W9 with Adagrad(lr 0.1)",
     .peer_call = "the same model in PyTorch", .rows = 200000, .dim = 64, .n = 256 * 20, .bags = 256,
     .mode = EK_BAG_MEAN, .unit = UNIT_ELEMS, .target_ratio = 4.0, .target_text = ">= 4x", .peer_id = "W9a",
     .note = "Swift: W9 with Adagrad(lr 0.1) over both modules (sparse rows for the table) in place of SGD",
     .api = BENCH_API_SWIFT, .work = work_index_elems},
};
BENCH_FAMILY(swift_api_workloads);
