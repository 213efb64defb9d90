-- ---- Protocols of another shape: no header of RLTOP's; the type code in each message's
-- first byte, each type of one size; MoldUDP64 packets or messages back to back. The checks
-- of the generated decoders, in their order, each failure an expert item at its byte. ----

-- One message of `length` bytes at `base` (its length from the framing). Returns whether its
-- length was known (under packed framing an unknown type ends the walk).
local function dissect_message(tvb, pinfo, tree, base, length, info, label)
    if length == 0 then
        local item = tree:add(PROTO, tvb(base, 0), "Empty message" .. label)
        expert(item, EXPERT.truncated, "Truncated: an empty message has no type code")
        info[#info + 1] = "Truncated"
        return true
    end
    local code = tvb(base, 1):uint()
    local m = MESSAGES[code]
    local sub = tree:add(PROTO, tvb(base, length), (m and m.name or string.format("Unknown type 0x%02x", code)) .. label)
    if not m then
        expert(sub, EXPERT.unknown_type, string.format("UnknownType: 0x%02x", code))
        info[#info + 1] = string.format("0x%02x", code)
        return false
    end
    info[#info + 1] = m.name
    if length < m.size then
        expert(sub, EXPERT.truncated, string.format("Truncated: %s takes %d bytes, %d remain", m.name, m.size, length))
        return true
    end
    if length > m.size then
        expert(sub, EXPERT.bad_length, string.format("BadLength: %d, but %s is %d bytes", length, m.name, m.size))
        return true
    end
    add_fields(tvb, pinfo, base, sub, m, 1, true)
    return true
end

local function frame_fault(tree, tvb, at, text, info)
    local item = tree:add(PROTO, tvb(at, tvb:len() - at), "Framing")
    expert(item, EXPERT.bad_frame, "BadFrame: " .. text)
    info[#info + 1] = "BadFrame"
end

-- A MoldUDP64 packet: its header, then `count` blocks, each a u16 length and a message.
local function moldudp64(tvb, pinfo, root, info)
    local len = tvb:len()
    if len < 20 then
        frame_fault(root, tvb, 0, string.format("a MoldUDP64 packet needs a 20-byte header, the datagram has %d bytes", len), info)
        return nil
    end
    local header = root:add(tvb(0, 20), "MoldUDP64")
    header:add(MOLD.session, tvb(0, 10), text_of(tvb(0, 10):raw(), true))
    header:add(MOLD.sequence, tvb(10, 8))
    header:add(MOLD.count, tvb(18, 2))
    local session = tvb(0, 10):raw()
    local seq, count = tvb(10, 8):uint64(), tvb(18, 2):uint()
    local key = pinfo.number
    if count ~= 0xFFFF and not pinfo.visited then
        local want = next_seq[session]
        if want ~= nil and want ~= seq then gaps[key] = want end
        next_seq[session] = seq + count
    end
    if gaps[key] ~= nil then
        expert(header, EXPERT.sequence_gap, string.format("Sequence gap: expected %s, got %s", tostring(gaps[key]), tostring(seq)))
    end
    local pos, left = 20, (count == 0xFFFF) and 0 or count
    local k = 0
    -- The blocks' sequence numbers as plain numbers where they are exact (below 2^53).
    local first = seq < UInt64.new(0, 0x200000) and seq:tonumber() or nil
    while left > 0 do
        if len - pos < 2 then
            frame_fault(root, tvb, pos, "the message block's length is cut", info)
            return seq, k
        end
        local n = tvb(pos, 2):uint()
        if len - pos - 2 < n then
            frame_fault(root, tvb, pos, string.format("the message block needs %d bytes, %d remain", n + 2, len - pos), info)
            return seq, k
        end
        root:add(MOLD.length, tvb(pos, 2))
        local label = first and string.format(", seq %d", first + k) or (", seq " .. tostring(seq + k))
        dissect_message(tvb, pinfo, root, pos + 2, n, info, label)
        pos, left, k = pos + 2 + n, left - 1, k + 1
    end
    if pos ~= len then
        frame_fault(root, tvb, pos, string.format("%d bytes after the last message block the header counts", len - pos), info)
    end
    if count == 0 then info[#info + 1] = "Heartbeat" elseif count == 0xFFFF then info[#info + 1] = "End of session" end
    return seq, k
end

-- Messages back to back, each as long as its type.
local function packed(tvb, pinfo, root, info)
    local pos, len = 0, tvb:len()
    while pos < len do
        local m = MESSAGES[tvb(pos, 1):uint()]
        local n = m and math.min(m.size, len - pos) or (len - pos)
        if not dissect_message(tvb, pinfo, root, pos, n, info, "") or n < (m and m.size or 0) then return end
        pos = pos + n
    end
end

function PROTO.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol:set(PROTO_NAME)
    local root = tree:add(PROTO, tvb())
    local info = {}
    local text
    if FRAMING == "moldudp64" then
        local seq, k = moldudp64(tvb, pinfo, root, info)
        text = table.concat(info, ", ")
        if seq ~= nil and k > 1 then
            text = text .. string.format(" (seq %s–%s)", tostring(seq), tostring(seq + k - 1))
        elseif seq ~= nil and k == 1 then
            text = text .. string.format(" (seq %s)", tostring(seq))
        end
    else
        packed(tvb, pinfo, root, info)
        text = table.concat(info, ", ")
    end
    pinfo.cols.info:set(text)
    return tvb:len()
end
