# mk/lib.mk — the C library (libembeddingkit.so / .a), and `make install`.
#
# Two builds of the same sources (SRCS: every .c under CKernels/src):
#   build/lib/        $(CC) (gcc) + libgomp: `make lib`, what `make install` installs and pkg-config
#                     describes. gcc and libgomp are what a C program on Debian/Ubuntu is built with, so
#                     a user's own OpenMP code and the library share one runtime, and installing needs
#                     no Swift toolchain.
#   build/clang/lib/  the Swift toolchain's clang + LLVM's libomp (libomp-dev): what SwiftPM compiles as
#                     the CKernels target and links into Swift programs. Not installed; `make test-c`
#                     runs the C suite against both (mk/tests.mk).
# `make install CC=clang` installs a clang build instead (Debian's clang links LLVM's libomp).

# ---- install locations -----------------------------------------------------------------------------
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

# ---- gcc + libgomp ---------------------------------------------------------------------------------
OBJDIR := $(BUILD)/obj
LIBOUT := $(BUILD)/lib
OBJS := $(patsubst CKernels/src/%.c,$(OBJDIR)/%.o,$(SRCS))
SONAME := libembeddingkit.so.$(VERSION_MAJOR)
SHARED := $(LIBOUT)/libembeddingkit.so.$(VERSION)
STATIC := $(LIBOUT)/libembeddingkit.a
VERSION_SCRIPT := CKernels/embeddingkit.map
PC_TEMPLATE := CKernels/embeddingkit.pc.in
PC := $(BUILD)/embeddingkit.pc

.PHONY: lib lib-clang install

lib: $(SHARED) $(LIBOUT)/$(SONAME) $(LIBOUT)/libembeddingkit.so $(STATIC)

$(OBJDIR)/%.o: CKernels/src/%.c
	@mkdir -p $(@D)
	$(CC) $(EK_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(SHARED): $(OBJS) $(VERSION_SCRIPT)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(VERSION_SCRIPT) -Wl,--no-undefined \
	    $(LDFLAGS) -o $@ $(OBJS) $(EK_LIBS)

$(LIBOUT)/$(SONAME): $(SHARED)
	ln -sf $(notdir $(SHARED)) $@

$(LIBOUT)/libembeddingkit.so: $(LIBOUT)/$(SONAME)
	ln -sf $(SONAME) $@

$(STATIC): $(OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(OBJS)

-include $(OBJS:.o=.d)

# ---- the toolchain clang + LLVM libomp (SwiftPM's build: Package.swift's -fopenmp -O3) -------------
CLANG_CC ?= $(TOOLCHAIN_CLANG)
CLANG_DIR := $(BUILD)/clang
CLANG_OBJS := $(patsubst CKernels/src/%.c,$(CLANG_DIR)/obj/%.o,$(SRCS))
CLANG_STATIC := $(CLANG_DIR)/lib/libembeddingkit.a
# link line for programs using the clang build: LLVM's OpenMP runtime, as SwiftPM links it
CLANG_LIBS := -L$(OMP_LIBDIR) -Wl,-rpath,$(OMP_LIBDIR) -lomp -lopenblas -lm

lib-clang: $(CLANG_STATIC)

$(CLANG_DIR)/obj/%.o: CKernels/src/%.c
	@mkdir -p $(@D)
	$(CLANG_CC) $(EK_CFLAGS) -O3 -MMD -MP -c $< -o $@

$(CLANG_STATIC): $(CLANG_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(CLANG_OBJS)

-include $(CLANG_OBJS:.o=.d)

# ---- pkg-config file and install (the gcc build) ---------------------------------------------------
$(PC): $(PC_TEMPLATE) $(HEADER) FORCE
	@mkdir -p $(@D)
	@pc_libdir='$(LIBDIR)'; pc_incdir='$(INCLUDEDIR)'; \
	[ "$$pc_libdir" = '$(PREFIX)/lib' ] && pc_libdir='$${prefix}/lib'; \
	[ "$$pc_incdir" = '$(PREFIX)/include' ] && pc_incdir='$${prefix}/include'; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e "s|@LIBDIR@|$$pc_libdir|g" -e "s|@INCLUDEDIR@|$$pc_incdir|g" \
	    -e 's|@VERSION@|$(VERSION)|g' $(PC_TEMPLATE) > $@.tmp && mv $@.tmp $@

install: lib $(PC)
	install -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(PKGCONFIGDIR)'
	install -m 755 $(SHARED) '$(DESTDIR)$(LIBDIR)/'
	ln -sf $(notdir $(SHARED)) '$(DESTDIR)$(LIBDIR)/$(SONAME)'
	ln -sf $(SONAME) '$(DESTDIR)$(LIBDIR)/libembeddingkit.so'
	install -m 644 $(STATIC) '$(DESTDIR)$(LIBDIR)/'
	install -m 644 $(HEADER) '$(DESTDIR)$(INCLUDEDIR)/'
	install -m 644 $(PC) '$(DESTDIR)$(PKGCONFIGDIR)/embeddingkit.pc'
	@if [ -z '$(DESTDIR)' ]; then echo "installed into $(PREFIX) (run ldconfig if $(LIBDIR) is a system library directory)"; fi
