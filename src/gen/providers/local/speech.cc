#include "gen/providers/local/speech.h"

#include <espeak-ng/speak_lib.h>

#include <array>
#include <cstring>
#include <mutex>

namespace varg::local {

namespace {

struct EspeakVoice {
  const char* alias;
  const char* name;  // espeak language + variant
  int pitch;         // 0..100, 50 normal
  int rate;          // words per minute
};

constexpr std::array<EspeakVoice, 9> kVoices{{
    {"rachel", "en-us+f3", 55, 165},
    {"domi", "en-us+f4", 62, 180},
    {"sarah", "en+f2", 50, 160},
    {"elli", "en-us+f5", 68, 170},
    {"antoni", "en+m3", 45, 165},
    {"josh", "en-us+m3", 40, 175},
    {"arnold", "en+m7", 30, 150},
    {"adam", "en-us+m1", 35, 160},
    {"sam", "en+m4", 48, 185},
}};
constexpr EspeakVoice kDefault{"", "en", 50, 170};

const EspeakVoice& voice_for(const std::string& alias) {
  for (const auto& v : kVoices)
    if (alias == v.alias) return v;
  return kDefault;
}

// libespeak-ng keeps all of its state in globals: one synthesis at a time in the whole process.
std::mutex& espeak_mutex() {
  static std::mutex m;
  return m;
}

struct Collector {
  std::vector<int16_t>* samples;
  const std::atomic<bool>* cancelled;
};

int on_synth(short* wav, int count, espeak_EVENT* events) {
  auto* into = static_cast<Collector*>(events->user_data);
  if (!into) return 0;
  if (wav && count > 0) into->samples->insert(into->samples->end(), wav, wav + count);
  return into->cancelled->load() ? 1 : 0;  // 1 asks espeak to stop
}

// Called with the mutex held. Returns espeak's sample rate, or 0 if it cannot start; DONT_EXIT
// because by default espeak calls exit() when its data files are missing.
int espeak_rate_locked() {
  static int rate = 0;
  if (rate == 0) {
    const int r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
    if (r <= 0) return 0;
    espeak_SetSynthCallback(on_synth);
    rate = r;
  }
  return rate;
}

}  // namespace

Result<Speech> speak(const std::string& text, const std::string& voice, const std::atomic<bool>& cancelled) {
  const EspeakVoice& v = voice_for(voice);
  Speech out;
  Collector collector{&out.samples, &cancelled};
  std::lock_guard lock(espeak_mutex());
  out.sample_rate = espeak_rate_locked();
  if (out.sample_rate == 0) return error(Code::internal, "espeak-ng failed to start (is espeak-ng-data installed?)");
  if (espeak_SetVoiceByName(v.name) != EE_OK && espeak_SetVoiceByName("en") != EE_OK)
    return error(Code::internal, "espeak-ng has no English voice");
  espeak_SetParameter(espeakRATE, v.rate, 0);
  espeak_SetParameter(espeakPITCH, v.pitch, 0);
  espeak_SetParameter(espeakRANGE, 50, 0);
  espeak_SetParameter(espeakVOLUME, 100, 0);
  const espeak_ERROR rc = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8,
                                       nullptr, &collector);
  if (cancelled.load()) return error(Code::unavailable, "cancelled");
  if (rc != EE_OK) return error(Code::internal, "espeak-ng failed to synthesize the text");
  if (out.samples.empty()) return error(Code::internal, "espeak-ng produced no audio");
  return out;
}

}  // namespace varg::local
