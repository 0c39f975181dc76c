// The local music model: a tune composed from the prompt (see music_style.h) and rendered by
// additive synthesis: a chord pad, a bass line, a lead melody and soft drums.
#pragma once
#include <atomic>
#include <string_view>

#include "common/status.h"
#include "gen/providers/local/synth.h"

namespace varg::local {

// Exactly round(seconds * rate) samples, peak-normalized, faded in and out.
Result<Track> compose_music(std::string_view prompt, double seconds, int rate, const std::atomic<bool>& cancelled);

}  // namespace varg::local
