-- ---- The engine's common part: reading fields in the protocol's byte order, text,
-- decimals, the per-capture state, and a message's fields from its table. ----

-- An empty table, for what most messages have none of.
local NONE = {}

-- An unsigned integer of up to 4 bytes, in the protocol's byte order.
local function uint(range)
    if BIG_ENDIAN then return range:uint() end
    return range:le_uint()
end

local function uint64(range)
    if BIG_ENDIAN then return range:uint64() end
    return range:le_uint64()
end

local function add(tree, field, range, value)
    if BIG_ENDIAN then
        if value == nil then return tree:add(field, range) end
        return tree:add(field, range, value)
    end
    if value == nil then return tree:add_le(field, range) end
    return tree:add_le(field, range, value)
end

-- Whether a text field's bytes are valid (SPEC.md §1): printable ASCII, then only padding
-- (none for space-padded text, whose spaces are printable).
local function text_valid(raw, space)
    if space then return raw:find("[^\32-\126]") == nil end
    return raw:find("^[\32-\126]*\0*$") ~= nil
end

-- The text a field shows: up to its padding, anything unprintable as \xNN.
local function text_of(raw, space)
    if not space then
        local nul = raw:find("\0", 1, true)
        if nul then raw = raw:sub(1, nul - 1) end
    end
    if raw:find("[^\32-\126]") then
        local out = {}
        for i = 1, #raw do
            local c = string.byte(raw, i)
            if c >= 0x20 and c <= 0x7E then
                out[#out + 1] = string.char(c)
            else
                out[#out + 1] = string.format("\\x%02x", c)
            end
        end
        raw = table.concat(out)
    end
    if space then raw = raw:gsub(" +$", "") end
    return raw
end

-- Per capture: the next sequence number each session should carry, and the gaps found on
-- the first pass (kept, so a packet shows the same whenever it is dissected again); each
-- instrument's exponents from its definition, with where they were learnt.
local next_seq, gaps, exponents = {}, {}, {}

function PROTO.init()
    next_seq, gaps, exponents = {}, {}, {}
end

-- `v` × 10^`e` as a decimal string: `v` an integer (a number, Int64 or UInt64).
local function decimal(v, e)
    local s = tostring(v)
    local sign = ""
    if s:sub(1, 1) == "-" then sign, s = "-", s:sub(2) end
    if e >= 0 then return sign .. s .. string.rep("0", e) end
    local places = -e
    if #s <= places then s = string.rep("0", places - #s + 1) .. s end
    return sign .. s:sub(1, #s - places) .. "." .. s:sub(#s - places + 1)
end

-- The exponents of the instrument of the message at `base`, if a definition seen before it
-- (earlier in the capture) gave them.
local function exponents_of(tvb, pinfo, base, m)
    if m.symbol == nil then return nil end
    local ex = exponents[uint(tvb(base + m.symbol, 4))]
    if ex == nil then return nil end
    if ex.frame < pinfo.number or (ex.frame == pinfo.number and ex.base < base) then return ex end
    return nil
end

-- A valid definition's exponents, learnt on the first pass.
local function learn(tvb, pinfo, base, code)
    if DEFINITION == nil or code ~= DEFINITION.type or pinfo.visited then return end
    local ex = { frame = pinfo.number, base = base }
    for name, off in pairs(DEFINITION.exponents) do ex[name] = tvb(base + off, 1):int() end
    exponents[uint(tvb(base + DEFINITION.symbol, 4))] = ex
end

local function expert(item, which, text)
    item:add_proto_expert_info(which, text)
end

-- Adds one leaf; returns its value (a number or UInt64) and the item.
local function add_leaf(tvb, base, parent, l)
    local range = tvb(base + l.off, l.size)
    if l.kind == "text" then
        local raw = range:raw()
        return raw, add(parent, l.f, range, text_of(raw, l.space))
    elseif l.kind == "time" then
        local v = uint64(range)
        local secs = (v / 1000000000):tonumber()
        local ns = (v % 1000000000):tonumber()
        return v, add(parent, l.f, range, NSTime.new(secs, ns))
    elseif l.kind == "char" or l.kind == "type" then
        local raw = range:raw()
        -- A character as it is: a space is the value, not padding.
        local item = add(parent, l.f, range, text_of(raw, false))
        local name = l.kind == "type" and MESSAGE_NAMES[string.byte(raw)]
        if name then item:append_text(" (" .. name .. ")") end
        return raw, item
    elseif l.size > 4 then
        local v = l.signed and (BIG_ENDIAN and range:int64() or range:le_int64()) or uint64(range)
        local item = add(parent, l.f, range, v)
        if l.places then item:append_text(" (" .. decimal(v, -l.places) .. ")") end
        return v, item
    end
    local v = uint(range)
    -- Wireshark reads a signed field itself; an unsigned one takes the value read here.
    local item = l.signed and add(parent, l.f, range) or add(parent, l.f, range, v)
    if l.places then item:append_text(" (" .. decimal(v, -l.places) .. ")") end
    if l.counts then item:append_text(" (entries of " .. l.counts .. ")") end
    if l.bits then
        for _, bit in ipairs(l.bits) do add(item, bit, range) end
    end
    return v, item
end

-- The first invalid value of a leaf of message `m`, as (expert, text), or nil.
local function leaf_fault(m, l, value)
    if l.kind == "enum" and value ~= nil and l.names[value] == nil then
        return EXPERT.bad_enum, string.format("BadEnum: %s.%s holds %d, which names no variant", m.name, l.path, value)
    elseif l.kind == "count" and value > l.max then
        return EXPERT.bad_count, string.format("BadCount: %s.%s is %d, its array holds %d", m.name, l.path, value, l.max)
    elseif (l.kind == "text" or l.kind == "char") and not text_valid(value, l.space or l.kind == "char") then
        return EXPERT.bad_text, string.format("BadText: %s.%s is not printable ASCII and padding", m.name, l.path)
    end
    return nil
end

-- The message's fields under `sub`, counted arrays to their count and `since` fields from
-- their version on; when `report`, the first invalid one gets the expert item (SPEC.md §4
-- check 8; after a bad checksum only the checksum is reported).
local function add_fields(tvb, pinfo, base, sub, m, version, report)
    local ex = exponents_of(tvb, pinfo, base, m)
    local counts = NONE
    if m.counts then
        counts = {}
        for _, c in ipairs(m.counts) do
            counts[c.array] = uint(tvb(base + c.off, c.size))
        end
    end
    local parents, faulted = { [""] = sub }, false
    for _, l in ipairs(m.leaves) do
        local present = l.since <= version and (l.index == nil or l.index < counts[l.array])
        if present then
            local parent = parents[l.parent]
            if parent == nil then
                local p = m.parents[l.parent]
                parent = sub:add(tvb(base + p[1], p[2]), l.parent)
                parents[l.parent] = parent
            end
            local value, item = add_leaf(tvb, base, parent, l)
            if l.scale and ex and ex[l.scale] then item:append_text(" (" .. decimal(value, ex[l.scale]) .. ")") end
            if report and not faulted then
                local which, text = leaf_fault(m, l, value)
                if which then
                    expert(item, which, text)
                    faulted = true
                end
            end
        end
    end
    return faulted
end

