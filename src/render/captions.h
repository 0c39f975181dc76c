// Captions as an ASS subtitle file: word timings (the speech's own, else its text spread evenly
// over its duration) grouped into lines, in the tiktok and karaoke styles.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace varg::render {

struct Word {
  std::string text;
  double start = 0, end = 0;  // seconds on the output timeline
};

// Words of a speech element's meta ({words?, duration, text?}) or of its text, shifted by `offset`.
std::vector<Word> caption_words(const nlohmann::json& speech_node, double offset);

struct CaptionTrack {
  std::vector<Word> words;
  nlohmann::json props;  // style, position, color, activeColor, fontSize, wordsPerLine
};

// The whole ASS document for a W×H video.
std::string captions_ass(const std::vector<CaptionTrack>& tracks, int width, int height);

// "#RRGGBB" → ASS "&H00BBGGRR"; `fallback` for anything else.
std::string ass_color(const std::string& css, const std::string& fallback);

}  // namespace varg::render
