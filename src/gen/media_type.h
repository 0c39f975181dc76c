// What a stored file is, decided from its bytes (never from what the uploader or a remote server
// claims): an allow-listed image, audio, video or JSON type, or application/octet-stream. Only
// allow-listed types are served inline; nothing that a browser would run (HTML, SVG, XML, PDF,
// scripts) can be.
#pragma once
#include <string>
#include <string_view>

namespace varg {

// The media type the content shows, or "application/octet-stream".
std::string sniff_media_type(std::string_view bytes);

// Whether files of this type are served inline (else as an attachment of application/octet-stream).
bool servable_inline(std::string_view media_type);

}  // namespace varg
