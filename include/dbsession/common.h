/**
 * @file dbsession/common.h
 * @brief Export macro and the small types every other header uses.
 */
#ifndef DBSESSION_COMMON_H
#define DBSESSION_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#  define DBS_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#  define DBS_EXTERN(type) extern type
#endif

#ifdef __cplusplus
#  define DBS_BEGIN_DECLS extern "C" {
#  define DBS_END_DECLS }
#else
#  define DBS_BEGIN_DECLS
#  define DBS_END_DECLS
#endif

/** Library version, as numbers and as a string. */
#define DBS_VERSION_MAJOR 0
#define DBS_VERSION_MINOR 1
#define DBS_VERSION_PATCH 0
#define DBS_VERSION_STRING "0.1.0"

#endif
