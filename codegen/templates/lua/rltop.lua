-- ---- Protocols of RLTOP's shape: a header with magic, length, type, version, session,
-- sequence and checksum; messages back to back in a datagram. SPEC.md §4's checks in order,
-- each failure an expert item at its byte. ----

local band, bxor, rshift = bit32.band, bit32.bxor, bit32.rshift

-- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), a byte at a time from a table.
local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0x82F63B78) else c = rshift(c, 1) end
    end
    CRC_TABLE[i] = c
end

-- The CRC-32C of `bytes` (a Lua string) with the 4 bytes from `skip` (1-based) taken as zero.
-- The bytes are taken out of the string a chunk at a time: one call per byte would cost more
-- than the table step itself.
local function crc32c(bytes, skip)
    local crc = 0xFFFFFFFF
    local byte, n = string.byte, #bytes
    local i = 1
    while i <= n do
        local last = math.min(i + 199, n)
        local chunk = { byte(bytes, i, last) }
        for k = 1, #chunk do
            local at = i + k - 1
            local b = (at >= skip and at < skip + 4) and 0 or chunk[k]
            crc = bxor(CRC_TABLE[band(bxor(crc, b), 0xFF)], rshift(crc, 8))
        end
        i = last + 1
    end
    return bxor(crc, 0xFFFFFFFF)
end

-- One message at `base`: the checks of SPEC.md §4 in order. Returns the next message's
-- start, or nil when a framing error ends the datagram.
local function dissect_message(tvb, pinfo, tree, base, info)
    local left = tvb:len() - base
    if left < HEADER_SIZE then
        local item = tree:add(PROTO, tvb(base, left), "Truncated message")
        expert(item, EXPERT.truncated, string.format("Truncated: %d bytes remain, a header takes %d", left, HEADER_SIZE))
        info[#info + 1] = "Truncated"
        return nil
    end
    local code = tvb(base + AT.type, 1):uint()
    local m = MESSAGES[code]
    local length = uint(tvb(base + AT.length, 2))
    local shown = math.min(math.max(length, HEADER_SIZE), left)
    local sub = tree:add(PROTO, tvb(base, shown), (m and m.name or string.format("Unknown type 0x%02x", code)))
    local version = tvb(base + AT.version, 1):uint()
    if uint(tvb(base + AT.magic, 4)) ~= MAGIC then
        expert(add(sub, HEADER_FIELDS.magic, tvb(base + AT.magic, 4)), EXPERT.bad_magic,
            string.format("BadMagic: expected 0x%08x", MAGIC))
        info[#info + 1] = "BadMagic"
        return nil
    end
    if (m and length ~= m.size) or (not m and length < HEADER_SIZE) then
        local want = m and string.format("%s is %d bytes", m.name, m.size) or string.format("at least the %d-byte header", HEADER_SIZE)
        expert(add(sub, HEADER_FIELDS.length, tvb(base + AT.length, 2)), EXPERT.bad_length,
            string.format("BadLength: %d, but %s", length, want))
        info[#info + 1] = "BadLength"
        return nil
    end
    if left < length then
        expert(sub, EXPERT.truncated, string.format("Truncated: the message takes %d bytes, %d remain", length, left))
        info[#info + 1] = "Truncated"
        return nil
    end
    local header = HEADER_LAYOUT
    local hsub = sub:add(tvb(base, HEADER_SIZE), "Header")
    local items = {}
    for _, l in ipairs(header) do
        local _, item = add_leaf(tvb, base, hsub, l)
        items[l.role or ""] = item
    end
    local session = tostring(uint64(tvb(base + AT.session, 8)))
    local seq = uint64(tvb(base + AT.sequence, 8))
    sub:append_text(string.format(", session %s, seq %s", session, tostring(seq)))
    local key = pinfo.number .. ":" .. base
    if not pinfo.visited then
        local want = next_seq[session]
        if want ~= nil and want ~= seq then gaps[key] = want end
        next_seq[session] = seq + 1
    end
    if gaps[key] ~= nil then
        expert(items.sequence, EXPERT.sequence_gap, string.format("Sequence gap: expected %s, got %s", tostring(gaps[key]), tostring(seq)))
    end
    if version < MIN_VERSION then
        expert(items.version, EXPERT.unsupported_version, string.format("UnsupportedVersion: %d, the oldest decoded is %d", version, MIN_VERSION))
        info[#info + 1] = "UnsupportedVersion"
        return base + length
    end
    if not m then
        expert(items.type, EXPERT.unknown_type, string.format("UnknownType: 0x%02x", code))
        info[#info + 1] = string.format("0x%02x", code)
        return base + length
    end
    info[#info + 1] = m.name
    local stored = uint(tvb(base + AT.checksum, 4))
    local computed = crc32c(tvb(base, length):raw(), AT.checksum + 1)
    if stored ~= computed then
        expert(items.checksum, EXPERT.bad_checksum, string.format("BadChecksum: stored 0x%08x, computed 0x%08x", stored, computed))
        add_fields(tvb, pinfo, base, sub, m, version, false)
        return base + length
    end
    if not add_fields(tvb, pinfo, base, sub, m, version, true) then learn(tvb, pinfo, base, code) end
    return base + length
end

function PROTO.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol:set(PROTO_NAME)
    local root = tree:add(PROTO, tvb())
    local info, base, first, last = {}, 0, nil, nil
    while base ~= nil and base < tvb:len() do
        if tvb:len() - base >= HEADER_SIZE then
            local seq = uint64(tvb(base + AT.sequence, 8))
            first = first or seq
            last = seq
        end
        base = dissect_message(tvb, pinfo, root, base, info)
    end
    local text = table.concat(info, ", ")
    if first ~= nil and first == last then
        text = text .. string.format(" (seq %s)", tostring(first))
    elseif first ~= nil then
        text = text .. string.format(" (seq %s–%s)", tostring(first), tostring(last))
    end
    pinfo.cols.info:set(text)
    return tvb:len()
end

-- The heuristic: the first message's magic, version, length and checksum must all hold.
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < HEADER_SIZE or uint(tvb(AT.magic, 4)) ~= MAGIC then return false end
    if tvb(AT.version, 1):uint() < MIN_VERSION then return false end
    local m = MESSAGES[tvb(AT.type, 1):uint()]
    local length = uint(tvb(AT.length, 2))
    if m == nil or length ~= m.size or length > tvb:len() then return false end
    if uint(tvb(AT.checksum, 4)) ~= crc32c(tvb(0, length):raw(), AT.checksum + 1) then return false end
    PROTO.dissector(tvb, pinfo, tree)
    return true
end

PROTO:register_heuristic("udp", heuristic)

