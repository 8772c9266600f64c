//! Enums whose values come from an official service model, declared once for both
//! stand-ins (SMS and MGN): each knows the model shape that declares it and every
//! value, so each stand-in's conformance test can check them against its model file.

macro_rules! model_enum {
    ($(#[$meta:meta])* $name:ident = $shape:literal { $($variant:ident => $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(
                #[doc = $value]
                #[serde(rename = $value)]
                $variant,
            )+
        }

        impl $name {
            /// The model shape that declares this enum.
            pub const SHAPE: &'static str = $shape;
            /// Every value the emulator can emit.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value),+
                }
            }

            /// The model shape with every value, as the conformance tests compare them.
            pub fn shape_and_values() -> (&'static str, Vec<&'static str>) {
                ($shape, vec![$($value),+])
            }

            /// Parses the wire spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use model_enum;
