/* SPDX-License-Identifier: MIT */
/*
 * udax.h - the public interface of libudax.
 *
 * Conventions (every function in this header):
 *  - Functions that can fail return 0 (or a non-negative count) on success and
 *    a negative errno value on failure; they also leave a human-readable
 *    message, naming the object and the reason, that udax_errormsg() returns.
 *  - Handles are opaque.
 *
 * The header grows layer by layer; see docs/ for the guarantees of each call.
 */
#ifndef UDAX_H
#define UDAX_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * udax_errormsg - the message of the last failure in the calling thread.
 *
 * The string is owned by the library and stays valid until the next udax call
 * in the same thread fails. It is "" if no call has failed yet.
 */
const char *udax_errormsg(void);

#ifdef __cplusplus
}
#endif

#endif /* UDAX_H */
