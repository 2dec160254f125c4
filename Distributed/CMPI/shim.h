/* shim.h — MPI for Swift (the CMPI system library target; flags from pkg-config's ompi-c).
 * Open MPI's predefined communicators are macros over addresses, which Swift cannot import: these
 * functions return them. */
#ifndef EK_CMPI_SHIM_H
#define EK_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm ekd_swift_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm ekd_swift_comm_self(void) { return MPI_COMM_SELF; }

#endif
