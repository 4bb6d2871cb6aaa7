#ifndef CBLAKE2_SHIM_H
#define CBLAKE2_SHIM_H
#include <blake2.h>
#include <stddef.h>

// libb2 takes `const uint8_t *`; expose `const void *` so an UnsafeRawBufferPointer passes straight through.
static inline int CBlake2_blake2b_update(blake2b_state *s, const void *in, size_t len) {
    return blake2b_update(s, (const uint8_t *)in, len);
}

static inline int CBlake2_blake2b_final(blake2b_state *s, void *out, size_t outlen) {
    return blake2b_final(s, (uint8_t *)out, outlen);
}

#endif
