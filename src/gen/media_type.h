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

// What a URL's file extension suggests ("https://x/a.mp4?sig=1" → "video/mp4"); "" when it tells
// nothing. A hint for early checks only: stored files are typed by their bytes.
std::string media_type_for_extension(std::string_view url);

}  // namespace varg
