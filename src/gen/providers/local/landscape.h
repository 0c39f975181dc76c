// The local image model: a landscape painted from the prompt's words (time of day, weather,
// terrain) and hash (colours, ridge shapes, sun position), at any size, deterministically.
#pragma once
#include <string_view>

#include "gen/providers/local/picture.h"

namespace varg::local {

Picture render_landscape(std::string_view prompt, int width, int height);

}  // namespace varg::local
