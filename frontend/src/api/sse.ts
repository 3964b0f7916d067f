/**
 * An incremental parser of `text/event-stream` (the WHATWG server-sent events format): feed it
 * decoded chunks as they arrive and it returns each complete frame. Comment lines (keepalives)
 * are skipped; a frame without data still reports its `retry` or `id`.
 */

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

export class SseParser {
  private buffer = "";

  /** The frames completed by `chunk`. */
  push(chunk: string): SseFrame[] {
    this.buffer += chunk;
    const frames: SseFrame[] = [];
    for (;;) {
      const match = /\r\n\r\n|\n\n|\r\r/.exec(this.buffer);
      if (!match) break;
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const frame = parseBlock(block);
      if (frame) frames.push(frame);
    }
    return frames;
  }
}

function parseBlock(block: string): SseFrame | null {
  const frame: SseFrame = { event: "message", data: "" };
  const data: string[] = [];
  let meaningful = false;
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    meaningful = true;
    if (field === "data") data.push(value);
    else if (field === "event") frame.event = value;
    else if (field === "id") frame.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) frame.retry = Number(value);
  }
  if (!meaningful) return null;
  frame.data = data.join("\n");
  return frame;
}
