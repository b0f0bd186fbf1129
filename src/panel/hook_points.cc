// The panel's hook points (hook_points.h).
#include "panel/hook_points.h"

#include <mutex>

namespace patchbay::panel {

void HookPoints::connect(HookEmitter emit, HookListeners listening) {
  std::unique_lock lock(mu_);
  emit_ = std::move(emit);
  listening_ = std::move(listening);
}

bool HookPoints::listens(const std::string& event) {
  std::shared_lock lock(mu_);
  return emit_ && (!listening_ || listening_(event));
}

HookResult HookPoints::await(const std::string& event, const nlohmann::ordered_json& context) {
  std::shared_lock lock(mu_);
  if (!emit_) return {};
  return emit_(event, context.dump());
}

void HookPoints::after(std::string event, nlohmann::ordered_json context) {
  if (!listens(event)) return;
  if (!after_.post([this, event = std::move(event), context = std::move(context)] { (void)await(event, context); })) {
    warn_("hook " + event + " dropped: too many hooks wait to run");
  }
}

}  // namespace patchbay::panel
