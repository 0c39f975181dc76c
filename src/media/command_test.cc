// The custom ffmpeg command's checks: what a hostile command tries, refused before ffmpeg runs.
#include <gtest/gtest.h>

#include "media/media.h"

namespace varg::media {
namespace {

using json = nlohmann::json;

CommandFiles two_in_one_out() {
  CommandFiles f;
  f.inputs = {"in_1.mp4", "in_2.png"};
  f.input_options = {{"-f", "mov", "-protocol_whitelist", "file"}, {"-f", "image2", "-protocol_whitelist", "file"}};
  f.outputs = {{"out_1", "out_1.mp4"}};
  return f;
}

Result<std::vector<std::string>> check(const std::string& command, const CommandFiles& f = two_in_one_out()) {
  auto words = split_words(command);
  if (!words.ok()) return words.status();
  return command_args(*words, f);
}

TEST(MediaCommand, SplitsLikeAShellWithoutExpansion) {
  auto w = split_words(R"(-vf "scale=1280:-2, fps=30" -metadata 'title=a b' a\ b $HOME `id` "q\"x")");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"-vf", "scale=1280:-2, fps=30", "-metadata", "title=a b", "a b", "$HOME", "`id`", "q\"x"}));
  EXPECT_FALSE(split_words("-vf 'scale=1:2").ok());
  EXPECT_FALSE(split_words(std::string("-an\x01")).ok());
}

TEST(MediaCommand, PlaceholdersBecomeTheJobsFilesWithForcedDemuxers) {
  auto a = check("-i {{in_1}} -i {{in_2}} -filter_complex [0:v][1:v]overlay=10:10[v] -map [v] -c:v libx264 -an {{out_1}}");
  ASSERT_TRUE(a.ok()) << a.status().message;
  EXPECT_EQ(*a, (std::vector<std::string>{"-f", "mov", "-protocol_whitelist", "file", "-i", "in_1.mp4", "-f", "image2",
                                          "-protocol_whitelist", "file", "-i", "in_2.png", "-filter_complex",
                                          "[0:v][1:v]overlay=10:10[v]", "-map", "[v]", "-c:v", "libx264", "-an", "out_1.mp4"}));
}

TEST(MediaCommand, EveryWayToNameAnotherFileIsRefused) {
  for (const char* cmd : {
           "-i /etc/passwd {{out_1}}",                      // a path as input
           "-i file:/etc/passwd {{out_1}}",                 // a protocol
           "-i concat:/etc/passwd|/etc/hosts {{out_1}}",    // the concat protocol
           "-i subfile,,start,0,end,0,,:/etc/passwd {{out_1}}",
           "-i http://169.254.169.254/ {{out_1}}",
           "-f lavfi -i movie=/etc/passwd {{out_1}}",       // a forced demuxer
           "-f concat -i {{in_1}} {{out_1}}",
           "-i {{in_1}} /tmp/x.mp4",                        // an output outside the job
           "-i {{in_1}} {{out_1}} /tmp/x.mp4",
           "-i {{in_1}} -f tee [f=mp4]/tmp/x.mp4 {{out_1}}",
           "-i {{in_1}} -vstats_file /tmp/x {{out_1}}",
           "-i {{in_1}} -passlogfile /tmp/x {{out_1}}",
           "-i {{in_1}} -progress /tmp/x {{out_1}}",
           "-i {{in_1}} -attach /etc/passwd {{out_1}}",
           "-i {{in_1}} -dump_attachment:t /tmp/x {{out_1}}",
           "-i {{in_1}} -filter_complex_script /etc/passwd {{out_1}}",
           "-i {{in_1}} -report {{out_1}}",
           "-i {{in_1}} -x264-params stats=/tmp/x {{out_1}}",
           "-i {{in_3}} {{out_1}}",                         // not one of the inputs
           "-i {{in_1}} {{out_2}}",                         // not one of the outputs
           "-i {{in_1}} -metadata title={{in_2}} {{out_1}}",
           "-i {{in_1}} - ",                                // stdout
           "{{in_1}} {{out_1}}",                            // an input without -i
           "-i {{in_1}} -c:v ../../bin/sh {{out_1}}",
       }) {
    auto a = check(cmd);
    EXPECT_FALSE(a.ok()) << cmd;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code, Code::invalid) << cmd;
    }
  }
}

TEST(MediaCommand, FiltersThatOpenFilesAreRefusedHoweverTheyAreWritten) {
  for (const char* graph : {
           "movie=/etc/passwd", "amovie=/etc/passwd", "scale=2:2,movie=/etc/passwd", "scale=2:2;movie=x",
           "[in]movie=x[out]", "subtitles=/etc/passwd", "drawtext=textfile=/etc/passwd", "lut3d=/etc/passwd",
           "sendcmd=f=/etc/passwd", "zmq", "signature=filename=/tmp/x", "vidstabdetect=result=/tmp/x",
           "psnr=stats_file=/tmp/x", "metadata=mode=print:file=/tmp/x", "curves=psfile=/etc/passwd",
           "[a,movie=x]scale", "[a'b]scale", "scale=2:2 , movie=x", "  movie=x", "fps=30,,movie=x",
           "sws_flags=bicubic;movie=x", "frei0r=x", "ladspa=x",
       }) {
    EXPECT_FALSE(check_filtergraph(graph).ok()) << graph;
  }
  for (const char* graph : {
           "scale=1280:-2,fps=30", "[0:v][1:v]overlay=W-w-10:H-h-10[v]", "eq=brightness=0.1",
           "scale='min(480,iw)':-2", "split[a][b];[a]hflip[l];[b]vflip[r];[l][r]hstack",
           "scale=2:2\\,movie=x",  // escaped: one scale filter's (bad) argument, as libavfilter sees it too
           "select='eq(n\\,0)'", "volume=0.5,atempo=1.5",
       }) {
    EXPECT_TRUE(check_filtergraph(graph).ok()) << graph;
  }
}

TEST(MediaCommand, OnlyListedCodecsAndThreads) {
  EXPECT_TRUE(check("-i {{in_1}} -c:v libx264 -c:a aac -threads 2 {{out_1}}").ok());
  EXPECT_FALSE(check("-i {{in_1}} -c:v libx264rgb {{out_1}}").ok());
  EXPECT_FALSE(check("-i {{in_1}} -threads 64 {{out_1}}").ok());
  EXPECT_FALSE(check("-i {{in_1}}").ok());  // no output
}

TEST(MediaRequests, NormalizeEachOperation) {
  auto trim = normalize("trim", {{"url", "https://x/a.mp4"}, {"start", 1.5}, {"duration", 2}});
  ASSERT_TRUE(trim.ok());
  EXPECT_EQ(trim->params, (json{{"op", "trim"}, {"start", 1.5}, {"end", 3.5}, {"precise", false}}));
  EXPECT_EQ(normalize("trim", {{"url", "u"}, {"start", 1}, {"end", 3}, {"duration", 2}}).status().field, "duration");
  EXPECT_EQ(normalize("trim", {{"url", "u"}, {"start", 3}, {"end", 2}}).status().field, "end");
  EXPECT_EQ(normalize("resize", {{"url", "u"}}).status().field, "width");
  EXPECT_EQ(normalize("resize", {{"url", "u"}, {"width", 10}, {"fit", "zoom"}}).status().field, "fit");
  EXPECT_EQ(normalize("slice", {{"video_url", "u"}, {"every", 2}, {"count", 3}}).status().field, "every");
  EXPECT_EQ(normalize("slice", {{"video_url", "u"}, {"count", 1}}).status().field, "count");
  auto cmd = normalize("command", {{"url", "https://x/a.mp4"}, {"command", "-vf eq=brightness=0.1 -c:a copy"}});
  ASSERT_TRUE(cmd.ok()) << cmd.status().message;
  EXPECT_EQ(cmd->params["words"].front(), "-i");
  EXPECT_EQ(cmd->params["words"].back(), "{{out_1}}");
  EXPECT_EQ(normalize("command", {{"url", "u"}, {"command", "-vf movie=/etc/passwd"}}).status().field, "command");
  EXPECT_EQ(normalize("command", {{"input_files", {{"in_2", "u"}}}, {"command", "-i {{in_2}} {{out_1}}"}}).status().field,
            "input_files");
  EXPECT_EQ(normalize("command", {{"url", "u"}, {"command", "-an"}, {"output_files", {{"out_1", "../x.sh"}}}}).status().field,
            "output_files");
}

TEST(MediaRequests, SliceRangesForEachSelector) {
  using R = std::vector<std::pair<double, double>>;
  EXPECT_EQ(*slice_ranges({{"every", 2.0}}, 5), (R{{0, 2}, {2, 4}, {4, 5}}));
  EXPECT_EQ(*slice_ranges({{"count", 3}}, 6), (R{{0, 2}, {2, 4}, {4, 6}}));
  EXPECT_EQ(*slice_ranges({{"at", {0, 2, 4, 9}}}, 6), (R{{0, 2}, {2, 4}, {4, 6}}));
  EXPECT_EQ(*slice_ranges({{"ranges", {{1, 2}, {3, 8}}}}, 6), (R{{1, 2}, {3, 6}}));
  EXPECT_FALSE(slice_ranges({{"ranges", {{7, 8}}}}, 6).ok());
  EXPECT_FALSE(slice_ranges({{"every", 0.1}}, 3600).ok());  // 36 000 segments
}

TEST(MediaRequests, ProbeAnswerFromFfprobe) {
  json f = {{"format", {{"duration", "6.000000"}, {"bit_rate", "123456"}, {"format_name", "mov,mp4,m4a,3gp,3g2,mj2"}}},
            {"streams", {{{"codec_type", "video"}, {"codec_name", "h264"}, {"width", 640}, {"height", 360}, {"avg_frame_rate", "30/1"}},
                         {{"codec_type", "audio"}, {"codec_name", "aac"}}}}};
  EXPECT_EQ(probe_answer(f, 99), (json{{"duration", 6.0}, {"width", 640}, {"height", 360}, {"codec", "h264"}, {"audio_codec", "aac"},
                                       {"format", "mov,mp4,m4a,3gp,3g2,mj2"}, {"bitrate", 123456}, {"fps", 30.0}, {"size_bytes", 99}}));
}

}  // namespace
}  // namespace varg::media
