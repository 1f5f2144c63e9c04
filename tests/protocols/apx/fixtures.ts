/**
 * Shared test material: a definition in the style of the reference examples
 * (c-apx `example/nodes/*.apx`), made up for these tests, and a seeded PRNG.
 */
import { mulberry32 } from "../../../lib/prng.ts";

/** A node with types, provide and require ports of every kind. */
export const BODY_CONTROLLER = `APX/1.2
N"BodyController"
T"OnOff_T"C(0,3):VT("Off","On","Error","NotAvailable")
T"Speed_T"S
T"Dtc_T"{"Id"S"Ftb"C"Status"C(0,1)}
P"VehicleSpeed"T[1]:=65535
P"WheelSpeeds"S(0,10000)[4]:={0,0,0,0}
P"LampState"T["OnOff_T"]:=3
P"DriverName"a[16]:="Nobody"
P"LastDtc"T[2]:={0xFFFF, 0xFF, 0xFF}
P"Odometer"U:=0xFFFFFFFFFFFFFFFF
R"VehicleMode"C(0,15):=15
R"Temperatures"c(-40,125)[3]:={-40,-40,-40}
R"UserInfo"{"Name"a[8]"Id"L}
R"Offset"l:=-1
R"Dtcs"T[2][2]:={{1,2,1},{3,4,0}}
`;

/** The project's seeded PRNG, uniform in [0, 1). */
export const prng: (seed: number) => () => number = mulberry32;

/** An integer in [0, n). */
export function below(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}
