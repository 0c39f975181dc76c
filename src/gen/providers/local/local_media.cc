#include "gen/providers/local/local_media.h"

#include "gen/providers/local/frame_size.h"
#include "gen/providers/local/landscape.h"
#include "gen/providers/local/music.h"
#include "gen/providers/local/png.h"
#include "gen/providers/local/request_params.h"
#include "gen/providers/local/speech.h"
#include "gen/providers/local/video.h"
#include "gen/providers/local/wav.h"

namespace varg {

namespace {

using namespace varg::local;

constexpr int kImageLongSide = 768;
constexpr int kMusicRate = 22050;
constexpr size_t kMaxSpeechChars = 5000;

Status cancelled_error() { return error(Code::unavailable, "cancelled"); }

size_t utf8_chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Result<Media> image(const nlohmann::json& params, const std::atomic<bool>& cancelled) {
  auto prompt = string_param(params, "prompt", true);
  VARG_TRY(prompt);
  auto aspect = string_param(params, "aspect_ratio", false, "1:1");
  VARG_TRY(aspect);
  auto size = frame_size(*aspect, kImageLongSide, /*even=*/false);
  VARG_TRY(size);
  if (cancelled.load()) return cancelled_error();
  auto png = encode_png(render_landscape(*prompt, size->width, size->height));
  VARG_TRY(png);
  return Media{std::move(*png), "image/png"};
}

Result<Media> speech(const nlohmann::json& params, const std::atomic<bool>& cancelled) {
  auto text = string_param(params, "text", true);
  VARG_TRY(text);
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return error(Code::invalid, "text is empty", "text");
  if (utf8_chars(*text) > kMaxSpeechChars) return error(Code::invalid, "text is longer than 5000 characters", "text");
  auto voice = string_param(params, "voice", false, "rachel");
  VARG_TRY(voice);
  if (cancelled.load()) return cancelled_error();
  auto spoken = speak(*text, *voice, cancelled);
  VARG_TRY(spoken);
  return Media{encode_wav(spoken->samples, spoken->sample_rate), "audio/wav"};
}

Result<Media> music(const nlohmann::json& params, const std::atomic<bool>& cancelled) {
  auto prompt = string_param(params, "prompt", true);
  VARG_TRY(prompt);
  auto seconds = duration_param(params, 10, 1, 60);
  VARG_TRY(seconds);
  auto track = compose_music(*prompt, *seconds, kMusicRate, cancelled);
  VARG_TRY(track);
  return Media{encode_wav(to_pcm16(track->samples), kMusicRate), "audio/wav"};
}

Result<Media> video(const nlohmann::json& params, const std::atomic<bool>& cancelled) {
  auto prompt = string_param(params, "prompt", true);
  VARG_TRY(prompt);
  auto aspect = string_param(params, "aspect_ratio", false, "16:9");
  VARG_TRY(aspect);
  auto seconds = duration_param(params, 5, 1, 10);
  VARG_TRY(seconds);
  auto mp4 = render_video(*prompt, *aspect, *seconds, cancelled);
  VARG_TRY(mp4);
  return Media{std::move(*mp4), "video/mp4"};
}

}  // namespace

Result<Media> render_local(const std::string& model, const nlohmann::json& params, const std::atomic<bool>& cancelled) {
  // Parameters are checked before cancellation, so that a bad request always says what is wrong.
  if (model == "local-image") return image(params, cancelled);
  if (model == "local-speech") return speech(params, cancelled);
  if (model == "local-music") return music(params, cancelled);
  if (model == "local-video") return video(params, cancelled);
  return error(Code::invalid, "unknown local model: " + model, "model");
}

}  // namespace varg
