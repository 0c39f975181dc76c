#include "gen/providers/local/video.h"

#include <cmath>
#include <fstream>
#include <iterator>

#include "gen/providers/local/ffmpeg_encoder.h"
#include "gen/providers/local/frame_size.h"
#include "gen/providers/local/ken_burns.h"
#include "gen/providers/local/landscape.h"
#include "gen/providers/local/music.h"
#include "gen/providers/local/temp_dir.h"
#include "gen/providers/local/wav.h"

namespace varg::local {

namespace {

constexpr int kLongSide = 640;
constexpr int kFps = 12;
constexpr int kAudioRate = 22050;
// The still is painted larger than the frame so that the tightest crop still has a source pixel
// for every frame pixel.
constexpr double kOverscan = 1.3;

Status write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out ? Status::Ok() : error(Code::internal, "cannot write " + path.string());
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return error(Code::internal, "cannot read " + path.string());
  if (bytes.empty()) return error(Code::internal, "ffmpeg produced no video");
  return bytes;
}

}  // namespace

Result<std::string> render_video(const std::string& prompt, const std::string& aspect_ratio, double seconds,
                                 const std::atomic<bool>& cancelled) {
  auto size = frame_size(aspect_ratio, kLongSide, /*even=*/true);
  VARG_TRY(size);
  const auto ffmpeg = find_ffmpeg();
  if (!ffmpeg) return error(Code::internal, "ffmpeg is not installed");
  auto dir = TempDir::create("varg-local-video");
  VARG_TRY(dir);

  auto music = compose_music(prompt, seconds, kAudioRate, cancelled);
  VARG_TRY(music);
  Mp4Job job;
  job.width = size->width;
  job.height = size->height;
  job.fps = kFps;
  job.frames = std::max(1, static_cast<int>(std::lround(seconds * kFps)));
  job.audio_wav = dir->path() / "audio.wav";
  job.output = dir->path() / "video.mp4";
  job.log = dir->path() / "ffmpeg.log";
  VARG_TRY(write_file(job.audio_wav, encode_wav(to_pcm16(music->samples), kAudioRate)));

  if (cancelled.load()) return error(Code::unavailable, "cancelled");
  const Picture still = render_landscape(prompt, static_cast<int>(std::lround(job.width * kOverscan)),
                                         static_cast<int>(std::lround(job.height * kOverscan)));
  const KenBurns move = ken_burns_for(prompt);
  const int last = std::max(1, job.frames - 1);
  VARG_TRY(encode_mp4(*ffmpeg, job, [&](int i, Picture& frame) { render_frame(still, move, double(i) / last, frame); },
                      cancelled));
  return read_file(job.output);
}

}  // namespace varg::local
