/* status.c — status names, the thread-local last-error message, version. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char last_error[512];

const char *ek_status_string(ek_status status) {
    switch (status) {
    case EK_OK: return "EK_OK";
    case EK_ERR_INVALID_ARGUMENT: return "EK_ERR_INVALID_ARGUMENT";
    case EK_ERR_INDEX_OUT_OF_RANGE: return "EK_ERR_INDEX_OUT_OF_RANGE";
    case EK_ERR_SHAPE: return "EK_ERR_SHAPE";
    case EK_ERR_NULL_POINTER: return "EK_ERR_NULL_POINTER";
    case EK_ERR_OVERFLOW: return "EK_ERR_OVERFLOW";
    case EK_ERR_ALLOC: return "EK_ERR_ALLOC";
    }
    return "EK_ERR_UNKNOWN";
}

const char *ek_last_error(void) { return last_error; }

ek_status eki_fail(ek_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

int32_t ek_version(void) { return EK_VERSION; }

#define EKI_STR2(x) #x
#define EKI_STR(x) EKI_STR2(x)
const char *ek_version_string(void) {
    return EKI_STR(EK_VERSION_MAJOR) "." EKI_STR(EK_VERSION_MINOR) "." EKI_STR(EK_VERSION_PATCH);
}
