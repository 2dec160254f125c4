# mk/demo.mk — make demo: the language identifier of issue 5 — Debian's fortune files in 13 languages
# (plus word lists and Vim's tutorial, issue 20), a CLD3-style model (hashed character n-grams, one
# EmbeddingBag per order, a hidden layer), trained with Adagrad and evaluated through the public Swift
# API; the model and its loss curve land in build/langid/. The tool and LangID live in the examples
# package (Examples/). make demo-c builds and runs the C example.

FORTUNE_PACKAGES := fortunes fortunes-de fortunes-es fortunes-it fortunes-pl fortunes-ru fortunes-cs \
                    fortunes-br fortunes-bg fortunes-eo fortunes-ga fortunes-zh
# Word lists (training, as seeded pseudo-sentences) and Vim's tutorial (the held-out genre, never
# trained on): issue 20. Keep in step with DebianSources.swift; README "The demo" lists the licences.
WORDLIST_PACKAGES := wbulgarian hunspell-cs wngerman wamerican wesperanto wspanish myspell-ga wirish \
                     witalian hunspell-pl wbrazilian hunspell-ru hunspell-sk friso-dict vim-runtime
DEMO_MODEL := $(BUILD)/langid/langid.safetensors

.PHONY: demo demo-corpus demo-c

demo-corpus:
	$(call apt_install,$(FORTUNE_PACKAGES) $(WORDLIST_PACKAGES),demo-corpus)

demo: deps demo-corpus check-openmp
	$(SWIFT) build -c release --package-path $(EXAMPLES) --product embedkit
	$(SWIFT_RELEASE_BIN)/embedkit langid train --output $(DEMO_MODEL)
	@echo
	@echo '$$ embedkit langid predict --top 3 "Das Leben ist schön." "La vida es bella."'
	@$(SWIFT_RELEASE_BIN)/embedkit langid predict --model $(DEMO_MODEL) --top 3 "Das Leben ist schön." "La vida es bella."

# make demo-c: the C example examples/c/lookup.c, linked against build/lib (the gcc build) with an rpath.
demo-c: deps lib
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c11 -O2 -Wall -Wextra -ICKernels/include examples/c/lookup.c -o $(BUILD)/examples/lookup \
	    -L$(LIBOUT) -lembeddingkit -Wl,-rpath,'$$ORIGIN/../lib'
	$(BUILD)/examples/lookup
