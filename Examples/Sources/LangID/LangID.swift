/// CLD3-style language identification built on EmbeddingKit.
///
/// The pieces, in the order a program uses them:
///
/// - `LanguageCorpus.load(from:options:)` reads Debian's fortune files (13 languages), cleans,
///   filters, de-duplicates and splits them into `train` and `test` samples; `shortTest()` is the
///   test set cut to 40 characters at a word boundary (`shortVariant(of:maxCharacters:)`).
/// - `NGramFeaturizer` turns texts into hashed character n-grams of several orders with their
///   relative frequencies; `featurize(_:threads:)` does a whole split once into a `FeatureSet`.
/// - `FeatureSet.assemble(_:into:)` fills a reusable `FeatureBatch` for any list of sample ids:
///   per order, the `indices`, `offsets` and `perSampleWeights` of an `EmbeddingBag(mode: .sum)`.
public enum LangID {}
