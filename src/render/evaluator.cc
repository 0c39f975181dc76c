#include "render/evaluator.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/child_process.h"
#include "render/sandbox_js.h"

namespace varg::render {

using json = nlohmann::json;

namespace {

const char* const kAllowedImports[] = {"vargai", "vargai/react", "vargai/ai", "vargai/jsx-runtime",
                                       "vargai/jsx-dev-runtime", "@vargai/gateway", "@vargai/react",
                                       "@vargai/sdk", "vargai/core"};

// esbuild's "<stdin>:L:C:" location and its "[ERROR] message" line → one sentence.
std::string esbuild_reason(const std::string& err) {
  std::smatch m;
  std::string msg = "the code does not parse";
  static const std::regex kMsg(R"(\[ERROR\] ([^\n]*))");
  static const std::regex kWhere(R"((?:<stdin>|composition\.tsx):(\d+):(\d+))");
  if (std::regex_search(err, m, kMsg)) msg = m[1];
  if (std::regex_search(err, m, kWhere)) msg += " (line " + std::string(m[1]) + ", column " + std::string(m[2]) + ")";
  return msg;
}

}  // namespace

Result<std::string> transpile(const std::string& tsx, const EvalOptions& opts) {
  if (tsx.find("export default") == std::string::npos && tsx.find("as default") == std::string::npos)
    return error(Code::invalid, "Invalid render code: the composition has no `export default` (export default <Render>…</Render>)", "code");
  ChildLimits lim;
  lim.cpu_seconds = 10;
  lim.memory_mb = 512;  // RLIMIT_AS does not fit Go's up-front reservations; RLIMIT_DATA does
  lim.max_file_mb = 0;
  lim.require_confinement = opts.require_confinement;
  auto r = run_captured({opts.esbuild, "--loader=tsx", "--format=esm", "--target=es2022", "--jsx=automatic",
                         "--jsx-import-source=vargai", "--log-level=error", "--color=false", "--sourcefile=composition.tsx"},
                        tsx, std::chrono::steady_clock::now() + std::chrono::seconds(20), nullptr, lim);
  if (!r.ok()) return r.status();
  if (!r->exited_ok()) return error(Code::invalid, "Invalid render code: " + esbuild_reason(r->err), "code");
  // Imports that survived transpiling (esbuild drops unused ones) must come from vargai.
  static const std::regex kImport(R"((?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*["']([^"']+)["'])");
  for (auto it = std::sregex_iterator(r->out.begin(), r->out.end(), kImport); it != std::sregex_iterator(); ++it) {
    const std::string spec = (*it)[1];
    bool ok = false;
    for (auto* a : kAllowedImports) ok = ok || spec == a;
    if (!ok)
      return error(Code::invalid, "Invalid render code: import of \"" + spec + "\" is not allowed; import only from vargai", "code");
  }
  if (r->out.find("as default") == std::string::npos && r->out.find("export default") == std::string::npos)
    return error(Code::invalid, "Invalid render code: the composition has no `export default`", "code");
  return r->out;
}

namespace {

EvalError crash_reason(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGXCPU) return {"The composition used more than its CPU time", "invalid_source"};
    if (sig == SIGABRT || sig == SIGTRAP || sig == SIGSEGV)
      return {"The composition ran out of memory", "invalid_source"};
    return {"The composition's evaluation was killed (signal " + std::to_string(sig) + ")", "invalid_source"};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 134) return {"The composition ran out of memory", "invalid_source"};
  return {"The composition's evaluation ended without a result", "invalid_source"};
}

}  // namespace

EvalResult evaluate(const std::string& module_js, const Resolver& resolve, const EvalOptions& opts,
                    const std::atomic<bool>& cancelled) {
  EvalResult res;
  ChildLimits lim;
  lim.cpu_seconds = opts.cpu_seconds;
  lim.memory_mb = opts.memory_mb;
  lim.max_files = 64;
  lim.max_file_mb = 0;
  lim.isolate_network = true;
  lim.require_confinement = opts.require_confinement;
  auto child = ChildProcess::spawn({opts.node, "--experimental-permission", "--experimental-vm-modules", "--no-warnings",
                                    "--frozen-intrinsics", "--max-old-space-size=" + std::to_string(opts.heap_mb),
                                    "--disallow-code-generation-from-strings", "-e", kHostJs},
                                   lim);
  if (!child.ok()) {
    res.err = {child.status().message, "internal"};
    return res;
  }
  std::mutex write_mu;
  bool dead = false;
  auto send = [&](const std::string& line) {
    std::lock_guard lk(write_mu);
    if (!dead && !write_all(child->in(), line + "\n")) dead = true;
  };
  ::signal(SIGPIPE, SIG_IGN);  // a dead evaluator must not take vargd with it
  send(json{{"runtime", kRuntimeJs}, {"code", module_js}, {"sync_timeout_ms", opts.sync_timeout_ms}}.dump());

  std::vector<std::thread> workers;
  std::atomic<bool> stop{false};
  std::string buf, errbuf;
  bool out_open = true;
  char chunk[65536];
  bool have_result = false;
  // Waiting with no generation outstanding means waiting for something that can never happen
  // (an unsettled promise, a blocked thread): fail in seconds instead of holding a render worker.
  std::atomic<int> outstanding{0};
  auto last_activity = std::chrono::steady_clock::now();
  while (out_open && !have_result) {
    const auto now = std::chrono::steady_clock::now();
    if (cancelled.load() || now > opts.deadline) {
      res.err = cancelled.load() ? EvalError{"Render cancelled", "cancelled"} : EvalError{"The render timed out", "timeout"};
      break;
    }
    if (outstanding.load() > 0) last_activity = now;
    if (now - last_activity > std::chrono::milliseconds(opts.idle_ms)) {
      res.err = {"The composition is waiting for a promise that never settles (nothing is being generated)", "invalid_source"};
      break;
    }
    pollfd p[2] = {{child->out(), POLLIN, 0}, {child->err(), POLLIN, 0}};
    int r = ::poll(p, 2, 100);
    if (r <= 0) continue;
    if (p[1].revents) {
      ssize_t n = ::read(child->err(), chunk, sizeof chunk);
      if (n > 0 && errbuf.size() < 8192) errbuf.append(chunk, size_t(n));
    }
    if (!p[0].revents) continue;
    ssize_t n = ::read(child->out(), chunk, sizeof chunk);
    if (n <= 0) {
      out_open = false;
      break;
    }
    last_activity = std::chrono::steady_clock::now();
    buf.append(chunk, size_t(n));
    if (buf.size() > (64u << 20)) {
      res.err = {"The composition's element tree is too large", "invalid_source"};
      break;
    }
    size_t nl;
    while (!have_result && (nl = buf.find('\n')) != std::string::npos) {
      auto parsed = parse_untrusted(std::string_view(buf).substr(0, nl), {300, 4000000});  // the child is untrusted
      buf.erase(0, nl + 1);
      if (!parsed.ok() || !parsed->is_object()) continue;
      json m = std::move(*parsed);
      const std::string op = m.value("op", "");
      if (op == "resolve" && m.contains("node") && m["node"].is_object()) {
        const json id = m.value("id", json());
        outstanding++;
        workers.emplace_back([&, id, node = m["node"]] {
          auto meta = resolve(node);
          json answer = {{"id", id}, {"ok", meta.ok()}};
          if (meta.ok()) answer["meta"] = *meta;
          else answer["error"] = meta.status().message, answer["category"] = meta.status().field;
          if (!stop.load()) send(answer.dump());
          outstanding--;
        });
      } else if (op == "result") {
        have_result = true;
        res.ok = true;
        res.tree = m.value("tree", json());
      } else if (op == "error") {
        have_result = true;
        res.err = {m.value("message", std::string("evaluation failed")), m.value("category", std::string("invalid_source"))};
      }
    }
  }
  stop = true;
  child->kill();
  const int status = child->wait();
  for (auto& t : workers) t.join();
  if (!res.ok && unconfined(status))
    res.err = {"The render sandbox could not be set up on this host (seccomp); see --render-sandbox", "internal"};
  else if (!res.ok && res.err.message.empty()) res.err = crash_reason(status);
  return res;
}

}  // namespace varg::render
