/// The Swift versions of the four seed documents.
public enum SeedExamples {}
