/*
 * cairn.h: Cairn's C ABI (libcairn.so), version 1.
 *
 * A content-addressed object store and provenance ledger for genblaze manifests, callable from C and from any
 * language with a C FFI (the Python package in python/ uses it through ctypes). Full rules: spec/c-abi.md.
 *
 * Conventions
 *  - Every call that can fail returns a status code (CAIRN_OK or a CAIRN_E_*). status / 10 is the `cairn` CLI's exit
 *    code family: 1x = the call ran and found a problem (absent, corrupt, does not verify), 2x = bad arguments,
 *    malformed input, or the call could not run.
 *  - The last parameter `char **err` may be NULL. When it is not, it is set to NULL on success and, on failure, to a
 *    one-line message (NUL-terminated UTF-8) naming what and where; free it with cairn_free.
 *  - Buffers the library hands out (uint8_t **out, size_t *out_len) are malloc'ed, followed by one NUL byte not
 *    counted in out_len, and freed with cairn_free. Buffers the caller passes are never kept after the call.
 *  - Strings passed in are NUL-terminated UTF-8; digests are "sha256:<64 hex>" or "blake2b-256:<64 hex>".
 *  - Handles are thread-safe: one cairn_store may be used by many threads at once. A cairn_reader is used by one
 *    reader at a time (calls are serialised by a lock). Closing a handle while another thread uses it is the
 *    caller's error, as with free().
 *  - No Swift error, trap or unwinding crosses this boundary: every pointer and length is checked.
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version of this header; cairn_abi_version() returns the library's. */
#define CAIRN_ABI_VERSION 1

/** Bytes a digest's text and its NUL take at most: the size of every digest_out buffer. */
#define CAIRN_DIGEST_MAX 80

/* Status codes. */
#define CAIRN_OK 0
#define CAIRN_E_NOT_FOUND 10  /* no such object, or no manifest for the run */
#define CAIRN_E_CORRUPT 11    /* an object's bytes do not match its digest (or its size changed) */
#define CAIRN_E_INVALID 12    /* a manifest that does not verify, a corrupt ledger */
#define CAIRN_E_USAGE 20      /* a bad argument: NULL, an invalid digest, unknown flags, a wrong algorithm */
#define CAIRN_E_MALFORMED 21  /* input that is not what it should be: not a manifest, a directory, bad config */
#define CAIRN_E_IO 22         /* the filesystem refused (errno in the message) */
#define CAIRN_E_NOT_A_STORE 23 /* no store at the path (open without CAIRN_OPEN_CREATE) */
#define CAIRN_E_BUFFER 24     /* the caller's buffer is too small; *out_len holds the size needed */
#define CAIRN_E_EXISTS 25     /* a store is already there */
#define CAIRN_E_INTERNAL 29   /* anything else (a bug: please report the message) */

/* cairn_store_open flags. */
#define CAIRN_OPEN_CREATE 1   /* create the store (sha256, object durability) when there is none */

/* cairn_verify flags. */
#define CAIRN_VERIFY_HASH_ONLY 1      /* check only the canonical hash (genblaze's --hash-only) */
#define CAIRN_VERIFY_REQUIRE_ASSETS 2 /* with a store: an asset whose bytes it lacks is a failure */

/* cairn_import flags. */
#define CAIRN_IMPORT_SKIP_EXISTING 1  /* a run already in the ledger with the same canonical hash is not appended */

/* cairn_lineage flags. */
#define CAIRN_LINEAGE_DESCENDANTS 1   /* the tree of runs chained from the run, instead of its ancestors */

typedef struct cairn_store cairn_store;
typedef struct cairn_reader cairn_reader;

/** The library's ABI version (CAIRN_ABI_VERSION it was built with). */
int cairn_abi_version(void);
/** Cairn's version, e.g. "0.1.0" (static; never freed). */
const char *cairn_version(void);
/** Frees a buffer or message the library handed out; NULL is allowed. */
void cairn_free(void *pointer);

/** Opens the store at path (with CAIRN_OPEN_CREATE, creates it when absent). *out is NULL on failure. */
int cairn_store_open(const char *path, int flags, cairn_store **out, char **err);
/** Releases a store handle; NULL is allowed. */
void cairn_store_close(cairn_store *store);

/** The durability of later puts through this handle: 0 the store's own (config.json), 1 object (each object
 *  durable before the call returns), 2 batch, 3 none (no syncs). */
int cairn_store_set_durability(cairn_store *store, int mode, char **err);
/** Stores count files, up to jobs at once (as `cairn put --jobs`), writing their digests in order into
 *  digests_out, CAIRN_DIGEST_MAX bytes each (count * CAIRN_DIGEST_MAX bytes in all). Every input is checked first:
 *  a missing or unreadable file fails the call with nothing stored. */
int cairn_put_files(cairn_store *store, size_t count, const char *const *paths, int jobs, char *digests_out,
                    char **err);
/** Stores len bytes (data may be NULL when len is 0) and writes the digest to digest_out. */
int cairn_put_bytes(cairn_store *store, const void *data, size_t len, char digest_out[CAIRN_DIGEST_MAX],
                    char **err);
/** Stores a file's bytes (streamed, never whole in memory) and writes the digest to digest_out. */
int cairn_put_file(cairn_store *store, const char *path, char digest_out[CAIRN_DIGEST_MAX], char **err);
/** *present = 1 when the object is in the store, else 0. */
int cairn_has(cairn_store *store, const char *digest, int *present, char **err);
/** The object's size in bytes. */
int cairn_size(cairn_store *store, const char *digest, uint64_t *size, char **err);
/** A verified read into a library-owned buffer (free with cairn_free). */
int cairn_get(cairn_store *store, const char *digest, uint8_t **out, size_t *out_len, char **err);
/** A verified read into the caller's buffer; CAIRN_E_BUFFER with *out_len = size when cap is too small. */
int cairn_read(cairn_store *store, const char *digest, void *buf, size_t cap, size_t *out_len, char **err);

/** Opens an object for streaming reads. */
int cairn_reader_open(cairn_store *store, const char *digest, cairn_reader **out, char **err);
/** Reads up to cap bytes; *out_len 0 is the end, reached only when the bytes matched the digest (else
 *  CAIRN_E_CORRUPT). Bytes given before the end are not yet verified. */
int cairn_reader_read(cairn_reader *reader, void *buf, size_t cap, size_t *out_len, char **err);
/** Closes a reader; NULL is allowed. */
void cairn_reader_close(cairn_reader *reader);

/** genblaze's verdict on manifest bytes, as JSON {schema_version, stored_hash, canonical_hash, hash_ok, verify_ok,
 *  unverified_sha256_ids, invalid_metadata_ids, assets, error} (docs/verify.md). With a store, asset bytes it holds
 *  are rehashed. CAIRN_OK whenever a verdict was reached: a refused or failing manifest is a verdict, not an error. */
int cairn_verify(const void *data, size_t len, cairn_store *store_or_null, int flags, uint8_t **json,
                 size_t *json_len, char **err);
/** The same verdict (without assets) in the compact text of spec/c-abi.md, written into the caller's buffer. */
int cairn_verify_compact(const void *data, size_t len, int flags, char *buf, size_t cap, size_t *out_len,
                         char **err);
/** Compact verdicts of count manifests in one call, separated by 0x1D. */
int cairn_verify_many(size_t count, const void *const *datas, const size_t *lens, int flags, char *buf, size_t cap,
                      size_t *out_len, char **err);

/** Verifies a genblaze manifest and appends it to the ledger, as `cairn import [--assets DIR]` does. JSON:
 *  {run_id, entry_index, manifest, already_present, assets_stored, assets_missing}. CAIRN_E_INVALID when it does
 *  not verify, CAIRN_E_MALFORMED when it is not a manifest; nothing is appended then. */
int cairn_import(cairn_store *store, const void *data, size_t len, const char *assets_dir_or_null, int flags,
                 uint8_t **json, size_t *json_len, char **err);
/** {run, ancestors} (`cairn lineage --json`), or the descendants tree; CAIRN_E_NOT_FOUND for an unknown run. */
int cairn_lineage(cairn_store *store, const char *run_id, int flags, uint8_t **json, size_t *json_len, char **err);
/** The runs (and steps) that produced the object, as a JSON array (empty when none): `cairn made --json`. */
int cairn_made(cairn_store *store, const char *digest, uint8_t **json, size_t *json_len, char **err);
/** The runs (and steps) that consumed the object, as a JSON array (empty when none): `cairn used --json`. */
int cairn_used(cairn_store *store, const char *digest, uint8_t **json, size_t *json_len, char **err);
/** The runs in the ledger, newest first, as a JSON array (`cairn log --json`); limit < 0 lists all. */
int cairn_log(cairn_store *store, long limit, uint8_t **json, size_t *json_len, char **err);
/** The manifest file the ledger holds for a run; CAIRN_E_NOT_FOUND when none. */
int cairn_manifest(cairn_store *store, const char *run_id, uint8_t **out, size_t *out_len, char **err);
/** `cairn ledger verify --json`'s report; CAIRN_OK with "ok": false when problems were found. */
int cairn_ledger_verify(cairn_store *store, uint8_t **json, size_t *json_len, char **err);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_H */
