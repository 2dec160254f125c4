// COpenMP: intentionally empty (see module.modulemap). The OpenMP runtime calls the kernels use are
// declared in CKernels/src/internal.h; the pragmas are compiled with -fopenmp (Package.swift).
