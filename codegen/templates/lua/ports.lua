-- ---- Finding the traffic: Decode As, and a preference of UDP ports. ----

local udp_port = DissectorTable.get("udp.port")
udp_port:add_for_decode_as(PROTO)
PROTO.prefs.ports = Pref.range("UDP ports", DEFAULT_PORTS, "UDP ports dissected as " .. PROTO_NAME .. " without the heuristic", 65535)
local registered = ""

local function apply_ports()
    if registered ~= "" then udp_port:remove(registered, PROTO) end
    registered = PROTO.prefs.ports
    if registered ~= "" then udp_port:add(registered, PROTO) end
end
PROTO.prefs_changed = apply_ports
apply_ports()
