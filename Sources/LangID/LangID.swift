/// CLD3-style language identification built on EmbeddingKit.
public enum LangID {}
