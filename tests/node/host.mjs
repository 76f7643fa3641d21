// The host side of MCP Apps, as a chat does it, with the SDK's own AppBridge (bundled for the page by esbuild): show a
// tool's result as the ui:// resource the tool points at, in a sandboxed frame under a no-network policy, send it the
// tool's input and result, and pass its tools/call on to the server. `window.mcp(method, params)` is the host's MCP
// connection: the test exposes it, and its MCP client sends each request to the real server.
import {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
} from "@modelcontextprotocol/ext-apps/app-bridge";

// A host's default for an app that declares no domains: inline code and styles, no network at all.
const POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";
const HOST = { name: "test-host", version: "1.0.0" };

// Call `name` as the chat's model would, then show its result in the app: the result, for the test to read.
async function show(name, args, { theme = "light", width = 480 } = {}) {
  const { tools } = await window.mcp("tools/list", {});
  const tool = tools.find((found) => found.name === name);
  const result = await window.mcp("tools/call", { name, arguments: args });
  const { contents } = await window.mcp("resources/read", { uri: getToolUiResourceUri(tool) });
  if (contents[0].mimeType !== RESOURCE_MIME_TYPE) throw new Error(`not an MCP App: ${contents[0].mimeType}`);
  const frame = document.createElement("iframe");
  frame.sandbox = "allow-scripts"; // an origin of its own: the app reaches nothing of the host's
  frame.style.width = `${width}px`;
  document.getElementById("chat").append(frame);
  document.body.classList.toggle("dark", theme === "dark");
  const containerDimensions = { width, maxHeight: 2000 };
  const hostContext = { theme, displayMode: "inline", platform: "web", containerDimensions };
  const bridge = new AppBridge(null, HOST, { serverTools: {} }, { hostContext });
  bridge.oncalltool = async (params) => {
    const result = await window.mcp("tools/call", params);
    window.host.calls.push({ ...params, result }); // once answered: the server has done it
    return result;
  };
  bridge.addEventListener("sizechange", ({ height }) => (frame.style.height = `${height}px`));
  const initialized = new Promise((resolve) => bridge.addEventListener("initialized", resolve));
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.srcdoc = contents[0].text.replace(
    "<head>",
    `<head><meta http-equiv="Content-Security-Policy" content="${POLICY}">`,
  );
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(result);
  Object.assign(window.host, { bridge, hostContext });
  return result;
}

// The host's context changes (the user picks another theme, say): the app is told what changed.
function changeContext(changes) {
  window.host.hostContext = { ...window.host.hostContext, ...changes };
  document.body.classList.toggle("dark", window.host.hostContext.theme === "dark");
  window.host.bridge.setHostContext(window.host.hostContext);
}

window.host = { calls: [], show, changeContext };
