// Debian's libzstd (apt: libzstd-dev): the one-shot compressor Cairn's Parquet writer uses for ZSTD pages.
#include <zstd.h>
