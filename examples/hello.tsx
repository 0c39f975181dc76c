import { Render, Clip, Image, Speech, Captions, Music, Title } from "vargai/react";
import { varg } from "vargai/ai";

const voice = Speech({ model: varg.speechModel("local-speech"), voice: "rachel", children: "Welcome to varg, rendered offline." });

export default (
  <Render width={1280} height={720}>
    <Music model={varg.musicModel("local-music")} prompt="calm ambient" duration={8} />
    <Clip duration={4} transition={{ name: "fade", duration: 0.5 }}>
      {Image({ model: varg.imageModel("local-image"), prompt: "mountains at dawn" })}
      <Title>varg</Title>
    </Clip>
    <Clip duration={4}>
      {Image({ model: varg.imageModel("local-image"), prompt: "a cabin by a lake at night" })}
      {voice}
      <Captions src={voice} style="tiktok" />
    </Clip>
  </Render>
);
