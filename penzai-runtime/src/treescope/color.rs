//! Stable colours for type names: the same layer type gets the same hue on every page.

/// The hue (0..360 degrees) for a type name.
///
/// FNV-1a over the name's bytes, then a multiplicative mix so that names differing only in
/// their last letters (`Block1`, `Block2`) still land far apart on the wheel. Renderers
/// turn the hue into a colour of fixed lightness and chroma (OKLCH in HTML, the nearest
/// of six ANSI colours in the terminal), so every type is equally readable.
pub fn type_hue(type_name: &str) -> u16 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in type_name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 32;
    (h % 360) as u16
}

/// The ANSI 256-colour index nearest to a light tint of `hue`, for terminal headers.
pub fn ansi_256_for_hue(hue: u16) -> u8 {
    // Walk the 6x6x6 cube's most saturated light ring: 12 colours at 30 degree steps.
    const RING: [u8; 12] = [203, 209, 215, 185, 149, 114, 79, 80, 75, 105, 141, 177];
    RING[(hue as usize % 360) / 30]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hues_are_stable_and_spread() {
        assert_eq!(type_hue("Linear"), type_hue("Linear"));
        let hues: std::collections::BTreeSet<u16> =
            ["Block1", "Block2", "Block3", "Linear", "Attention", "Mlp"]
                .iter()
                .map(|n| type_hue(n))
                .collect();
        assert_eq!(hues.len(), 6);
        assert!(hues.iter().all(|h| *h < 360));
    }
}
