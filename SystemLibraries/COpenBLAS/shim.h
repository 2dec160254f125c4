// COpenBLAS: the CBLAS header, found through `pkg-config --cflags openblas` (Debian puts it under
// /usr/include/<triplet>/openblas-pthread/, with /usr/include/<triplet>/cblas.h as an alternative).
#include <cblas.h>
