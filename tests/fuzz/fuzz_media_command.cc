// The custom ffmpeg command's checks (media/media.h): any text through split_words and
// command_args, and as a filter graph. Whatever is accepted reads only the job's own inputs.
#include <cstdint>
#include <string>

#include "media/media.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)varg::media::check_filtergraph(text);
  auto words = varg::media::split_words(text);
  if (!words.ok()) return 0;
  varg::media::CommandFiles files;
  files.inputs = {"in_1.mp4", "in_2.png"};
  files.input_options = {{"-f", "mov", "-protocol_whitelist", "file"}, {"-f", "image2", "-protocol_whitelist", "file"}};
  files.outputs = {{"out_1", "out_1.mp4"}, {"out_2", "out_2.png"}};
  auto args = varg::media::command_args(*words, files);
  if (!args.ok()) return 0;
  for (size_t i = 0; i + 1 < args->size(); i++)
    if ((*args)[i] == "-i" && (*args)[i + 1] != "in_1.mp4" && (*args)[i + 1] != "in_2.png") __builtin_trap();
  return 0;
}
