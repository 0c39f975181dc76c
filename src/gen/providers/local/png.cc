#include "gen/providers/local/png.h"

#include <zlib.h>

namespace varg::local {

namespace {

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type, 4);
  out.append(data);
  // The CRC covers the chunk type and data, not the length.
  uLong crc = ::crc32(0L, Z_NULL, 0);
  crc = ::crc32(crc, reinterpret_cast<const Bytef*>(out.data() + start), static_cast<uInt>(out.size() - start));
  put_u32(out, static_cast<uint32_t>(crc));
}

// Each row is stored with the "Sub" filter (difference from the pixel to the left): our pictures
// are smooth gradients, which that turns into long runs of small numbers that deflate well.
std::string filtered_rows(const Picture& p) {
  const size_t stride = static_cast<size_t>(p.width) * 3;
  std::string raw;
  raw.resize(p.height * (stride + 1));
  char* dst = raw.data();
  for (int y = 0; y < p.height; y++) {
    const uint8_t* row = &p.rgb[y * stride];
    *dst++ = 1;
    for (size_t i = 0; i < stride; i++) *dst++ = static_cast<char>(row[i] - (i >= 3 ? row[i - 3] : 0));
  }
  return raw;
}

}  // namespace

Result<std::string> encode_png(const Picture& picture) {
  const std::string raw = filtered_rows(picture);
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 6) != Z_OK)
    return error(Code::internal, "zlib failed to compress the image");
  packed.resize(packed_size);

  std::string header;
  put_u32(header, static_cast<uint32_t>(picture.width));
  put_u32(header, static_cast<uint32_t>(picture.height));
  header += std::string{8, 2, 0, 0, 0};  // bit depth 8, colour type RGB, deflate, adaptive filter, no interlace

  std::string out("\x89PNG\r\n\x1a\n", 8);
  put_chunk(out, "IHDR", header);
  put_chunk(out, "IDAT", packed);
  put_chunk(out, "IEND", {});
  return out;
}

}  // namespace varg::local
