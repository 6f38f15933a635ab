-- table.sort of numbers, of strings, and with a comparator.
local seed = 42
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
local check = 0
for round = 1, 4 do
  local nums, strs, recs = {}, {}, {}
  for i = 1, 20000 do
    nums[i] = rnd(100000)
    strs[i] = "k" .. rnd(100000)
    recs[i] = { id = i, score = rnd(1000) }
  end
  table.sort(nums)
  table.sort(strs)
  table.sort(recs, function(a, b) if a.score ~= b.score then return a.score > b.score end return a.id < b.id end)
  check = check + nums[1] + nums[20000] + #strs[1] + recs[1].id + recs[20000].id
end
print(check)
