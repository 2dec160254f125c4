# mk/deps.mk — the Debian / Ubuntu packages the build needs (make deps), and the helper that
# installs only what is missing (also used by mk/demo.mk for the corpus).

DEPS_PACKAGES := libopenblas-dev libomp-dev pkg-config build-essential libopenmpi-dev openmpi-bin iproute2

.PHONY: deps

# $(call apt_install,<packages>,<what for>): installs the Debian packages that are missing.
define apt_install
	@if ! command -v dpkg >/dev/null 2>&1; then \
	    echo "$(2): not a Debian/Ubuntu system; install the equivalents of $(1) yourself"; \
	    exit 0; \
	fi; \
	missing=""; \
	for p in $(1); do \
	    dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "$(2): all installed ($(1))"; exit 0; fi; \
	sudo=""; if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; fi; \
	echo "$(2): installing$$missing"; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing
endef

deps:
	$(call apt_install,$(DEPS_PACKAGES),deps)
