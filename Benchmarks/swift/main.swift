// ek-swift-bench: W5 and W9 through the public Swift API (filled by issue 4).
import EmbeddingKit
print("ek-swift-bench: no workloads yet")
