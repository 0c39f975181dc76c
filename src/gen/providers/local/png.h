// PNG encoding of a Picture: 8-bit RGB, one zlib-compressed IDAT, CRC-checked chunks.
#pragma once
#include <string>

#include "common/status.h"
#include "gen/providers/local/picture.h"

namespace varg::local {

Result<std::string> encode_png(const Picture& picture);

}  // namespace varg::local
